"""``wasi-lsp run [options] -- ARGS``: python inside WASI."""

from __future__ import annotations

import argparse

from wasi_lsp.commands.options import grants_from, launch, project_config, sandbox_options, strip_dashdash


def add_parser(sub) -> None:
    p = sub.add_parser("run", help="run python inside WASI: wasi-lsp run [options] -- ARGS")
    sandbox_options(p)
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments for python (after --)")


def run(options) -> int:
    from wasi_lsp import sandbox

    project = project_config(options)
    spec = sandbox.build(grants_from(options, project), strip_dashdash(options.args))
    return launch(options, spec, project)
