"""pytest plugin: run the same pytest-lsp suite on native CPython and on every WASI host.

(Filled in by the pygls/pytest-lsp work; registered through the pytest11 entry point.)
"""
