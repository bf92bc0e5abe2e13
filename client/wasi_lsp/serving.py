"""Turn a server spec (``module``, ``module:object``, console script) into guest arguments."""

from __future__ import annotations

from wasi_lsp.overlay import GUEST_CONSOLE_SCRIPTS


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
