"""wasi-lsp: run, test and ship pygls language servers on WASI Python.

Everything in this package runs on the host. Code that runs inside the WASI
guest lives in the separate ``wasi_lsp_guest`` and ``rstls`` packages (``server/``).
"""

__version__ = "0.1.0"
