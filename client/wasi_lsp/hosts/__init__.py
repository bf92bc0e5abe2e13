"""WASI hosts, one module each, picked by name from :data:`HOSTS`."""

from __future__ import annotations

from wasi_lsp.errors import WasiLspError
from wasi_lsp.hosts.base import Host

DEFAULT_HOST = "wasmtime"


def _load(name: str) -> Host:
    if name == "wasmtime":
        from wasi_lsp.hosts.embedded import EmbeddedWasmtime

        return EmbeddedWasmtime()
    if name == "wasmtime-cli":
        from wasi_lsp.hosts.wasmtime_cli import WasmtimeCli

        return WasmtimeCli()
    if name == "node":
        from wasi_lsp.hosts.node import NodeWasi

        return NodeWasi()
    raise KeyError(name)


#: Host names and what they are; modules are imported only when picked.
HOSTS: dict[str, str] = {
    "wasmtime": "embedded wasmtime (the wasmtime PyPI package), in this process",
    "wasmtime-cli": "the wasmtime command-line program, as a child process",
    "node": "Node.js's built-in WASI (node:wasi), as a child process",
}


def get_host(name: str | None = None) -> Host:
    name = name or DEFAULT_HOST
    if name not in HOSTS:
        raise WasiLspError(f"unknown host {name!r}", fix=f"use one of: {', '.join(HOSTS)}")
    host = _load(name)
    reason = host.unavailable_reason()
    if reason:
        raise WasiLspError(f"host {name!r} cannot run here: {reason}")
    return host
