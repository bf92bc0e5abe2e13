"""``rstls`` / ``python -m rstls``: serve LSP over stdio (natively, or inside WASI via ``wasi-lsp serve``)."""

from __future__ import annotations

import logging
import sys


def main() -> None:
    if any(arg in ("-h", "--help") for arg in sys.argv[1:]):
        print("usage: rstls\n\nA reStructuredText/Sphinx language server speaking LSP on stdin/stdout.")
        return
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="rstls: %(levelname)s %(message)s")
    from rstls.server import server

    server.start_io()


if __name__ == "__main__":
    main()
