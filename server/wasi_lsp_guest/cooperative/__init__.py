"""Cooperative stand-ins for threads, thread pools, processes and the asyncio loop.

WASI Python has one thread and no processes. Everything here runs "concurrent"
work on that one thread at idle points; :mod:`wasi_lsp_guest.compat.concurrency`
documents the semantics and installs these pieces.
"""
