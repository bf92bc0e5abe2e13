"""WASI hosts, one module each, picked by name from :data:`HOSTS`."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from wasi_lsp.errors import WasiLspError
from wasi_lsp.hosts.base import Host

DEFAULT_HOST = "wasmtime"


@dataclass(frozen=True)
class HostEntry:
    """One host: where its class lives (imported only when it is picked) and what it is."""

    module: str
    cls: str
    description: str


#: Every host wasi-lsp has; whatever lists or picks hosts reads this table.
HOSTS: dict[str, HostEntry] = {
    "wasmtime": HostEntry("wasi_lsp.hosts.embedded", "EmbeddedWasmtime",
                          "embedded wasmtime (the wasmtime PyPI package), in this process"),
    "wasmtime-cli": HostEntry("wasi_lsp.hosts.wasmtime_cli", "WasmtimeCli",
                              "the wasmtime command-line program, as a child process"),
    "node": HostEntry("wasi_lsp.hosts.node", "NodeWasi",
                      "Node.js's built-in WASI (node:wasi), as a child process"),
}


def host_choices() -> str:
    """The host names for a help text, the default marked."""
    return " | ".join(f"{name} (default)" if name == DEFAULT_HOST else name for name in HOSTS)


def get_host(name: str | None = None) -> Host:
    name = name or DEFAULT_HOST
    if name not in HOSTS:
        raise WasiLspError(f"unknown host {name!r}", fix=f"use one of: {', '.join(HOSTS)}")
    entry = HOSTS[name]
    host: Host = getattr(importlib.import_module(entry.module), entry.cls)()
    reason = host.unavailable_reason()
    if reason:
        raise WasiLspError(f"host {name!r} cannot run here: {reason}")
    return host
