"""Turn a server spec (``module``, ``module:object``, console script) into guest arguments."""

from __future__ import annotations

from wasi_lsp.errors import WasiLspError
from wasi_lsp.overlay import GUEST_CONSOLE_SCRIPTS


def server_spec(options, project, verb: str, example: str) -> str:
    """The server named on the command line, else ``[tool.wasi-lsp] server``; an error names both ways."""
    server = options.server or project.get("server")
    if not server:
        raise WasiLspError(
            f"no server to {verb}",
            fix=f"name one ({example}) or set server = ... in [tool.wasi-lsp]",
        )
    return server


def server_args(server: str, grants, extra: list[str]) -> list[str]:
    from wasi_lsp.env import ensure_env

    if ":" in server:
        target = server
    elif server in GUEST_CONSOLE_SCRIPTS:
        target = GUEST_CONSOLE_SCRIPTS[server]
    else:
        scripts = ensure_env(grants.requirements, grants.runtime).console_scripts()
        target = scripts.get(server, server)
    return ["-m", "wasi_lsp_guest.serve", target, *extra]
