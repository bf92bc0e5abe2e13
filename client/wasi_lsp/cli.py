"""The ``wasi-lsp`` command line.

Every user-facing failure is a :class:`WasiLspError`, printed as one message
with a non-zero exit; tracebacks are reserved for bugs in wasi-lsp itself.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from wasi_lsp.errors import WasiLspError

#: Every command, in the order ``--help`` lists them: its name and the module that has its
#: ``add_parser(sub)`` and ``run(options) -> int`` (see :mod:`wasi_lsp.commands`).
COMMANDS: dict[str, str] = {
    "run": "wasi_lsp.commands.run",
    "serve": "wasi_lsp.commands.serve",
    "env": "wasi_lsp.commands.env",
    "runtime": "wasi_lsp.commands.runtime",
    "bench": "wasi_lsp.commands.bench",
    "pytest": "wasi_lsp.commands.pytest",
    "check": "wasi_lsp.commands.check",
    "bundle": "wasi_lsp.commands.bundle",
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or of ``only`` (starting one command imports no other's module)."""
    parser = argparse.ArgumentParser(
        prog="wasi-lsp",
        description="Run, serve and test Python language servers on WASI Python.",
    )
    from wasi_lsp import __version__

    parser.add_argument("--version", action="version", version=f"wasi-lsp {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        if only in (None, name):
            importlib.import_module(module).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv[0] if argv and argv[0] in COMMANDS else None)
    options = parser.parse_args(argv)
    options.argv = list(argv)  # wasi-lsp pytest -n starts its shards with the same options
    try:
        return importlib.import_module(COMMANDS[options.command]).run(options)
    except WasiLspError as error:
        print(f"wasi-lsp: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130
