"""The ``wasi-lsp`` commands, one module each; :data:`wasi_lsp.cli.COMMANDS` lists them.

Every command module has the same two functions:

- ``add_parser(sub)`` adds its sub-parser to ``sub`` (argparse's subparsers). It
  imports only what the parser needs: starting one command imports no other.
- ``run(options) -> int`` does the work and returns the exit code; a user's
  mistake is a :class:`wasi_lsp.errors.WasiLspError`, which the CLI prints.

Flags and defaults shared by several commands live in :mod:`.options`; a
command module never imports another command module.
"""
