"""``wasi-lsp serve [options] [SERVER] [-- ARGS]``: a language server over stdio inside WASI."""

from __future__ import annotations

import argparse
import sys

from wasi_lsp.commands.options import (
    SNAPSHOT_MODES,
    add_server_target,
    launch,
    project_config,
    sandbox_options,
    serve_run_spec,
)


def add_parser(sub) -> None:
    serve = sub.add_parser("serve", help="serve a language server over stdio inside WASI")
    sandbox_options(serve)
    snapshots = serve.add_argument_group("snapshots (a runtime built with wasi-lsp runtime build)")
    snapshots.add_argument("--snapshot", choices=SNAPSHOT_MODES,
                           help="auto: use a matching snapshot, making one on the first start (a failure only "
                                "means a plain start); require: make one with this run's mounts or fail; off: never "
                                "(default: [tool.wasi-lsp] snapshot, else auto)")
    snapshots.add_argument("--preload", metavar="MODULES",
                           help="the snapshot's preload list, comma-separated (default: [tool.wasi-lsp] preload)")
    add_server_target(serve)
    serve.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the server (after --)")


def run(options) -> int:
    from wasi_lsp import snapshot

    project = project_config(options)
    spec, server = serve_run_spec(options, project)
    spec = snapshot.for_serve(spec, mode=options.snapshot or project.get("snapshot", "auto"),
                              preload=snapshot.configured_preload(options, project), server=server,
                              say=lambda text: print(text, file=sys.stderr, flush=True),
                              make=not options.print_capabilities)
    return launch(options, spec, project)
