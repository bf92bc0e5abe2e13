"""Guest-side support for wasi-lsp: runs inside WASI Python only.

Nothing here may import host-only packages (wasmtime, rich, pip). The host
copies this package into a read-only overlay that every guest gets, and its
``sitecustomize`` calls :func:`wasi_lsp_guest.bootstrap.boot`.
"""
