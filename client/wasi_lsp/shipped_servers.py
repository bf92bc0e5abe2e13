"""What wasi-lsp knows about each language server it ships (today: rstls), in one table.

A shipped server's package is copied into the guest overlay (server/<package>),
so the facts pip would read from its installed metadata, and the defaults
that make it work out of the box, are kept here: the overlay, snapshots,
``bundle vscode`` and the benchmark all read this table.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ShippedServer:
    #: The importable package, under server/ in the source tree and in the guest overlay.
    package: str
    #: ``module:object`` its console script runs (its dist-info lives on the host only).
    console_script: str
    #: What the guest environment needs when it is served.
    requirements: tuple[str, ...]
    #: What a snapshot of it pre-imports: its entry point imports the server lazily.
    preload: tuple[str, ...]
    #: ``bundle vscode`` manifest defaults; ``[tool.wasi-lsp]`` keys win.
    vscode: dict = field(default_factory=dict)


SHIPPED_SERVERS: dict[str, ShippedServer] = {
    "rstls": ShippedServer(
        package="rstls",
        console_script="rstls.__main__:main",
        requirements=("pygls>=2.1,<3", "lsprotocol>=2025.0.0", "docutils>=0.20", "sphinx>=7.2"),
        preload=("rstls.server",),
        vscode={
            "name": "rstls",
            "display-name": "rstls: reStructuredText and Sphinx (WASI)",
            "languages": [{"id": "restructuredtext", "extensions": [".rst"], "aliases": ["reStructuredText"]}],
        },
    ),
}
