"""What the bench measures: native CPython and each WASI host (on a runtime, maybe from a snapshot)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from wasi_lsp.shipped_servers import SHIPPED_SERVERS


SERVERS = {
    "minimal": "wasi_lsp_guest.minimal_server:server",
    "rstls": "rstls",
}

@dataclass
class Target:
    """Native CPython (host None), or a WASI host on the default runtime or on ``runtime`` (``--runtime``).

    With ``snapshot``, ``serve`` runs from a Wizer snapshot of the server's
    imports (made by the first, warm-up start: ``--snapshot require``). A host
    without ``@RUNTIME`` is what a user gets with no flags: the default runtime
    and the default snapshot mode; a named runtime is measured plain
    (``--snapshot off``) unless ``snapshot``.
    """

    label: str
    host: str | None
    runtime: str | None = None
    snapshot: bool = False

    def command(self, server: str, workspace: Path) -> list[str]:
        if self.host is None:
            if server in SHIPPED_SERVERS:  # natively, its own entry point, as a user starts it
                return [sys.executable, "-m", SHIPPED_SERVERS[server].package]
            return [sys.executable, "-m", "wasi_lsp_guest.serve", SERVERS[server]]
        mode = [] if self.runtime is None else ["--snapshot", "require" if self.snapshot else "off"]
        return [*self.wasi_lsp("serve"), "--no-project", *mode,
                "--with", "pygls>=2.1,<3", "--dir", str(workspace), SERVERS[server]]

    def wasi_lsp(self, command: str) -> list[str]:
        """``wasi-lsp COMMAND`` on this host and runtime."""
        return [sys.executable, "-m", "wasi_lsp", command, *(["--host", self.host] if self.host else []),
                *(["--runtime", self.runtime] if self.runtime else [])]
