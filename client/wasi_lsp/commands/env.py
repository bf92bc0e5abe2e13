"""``wasi-lsp env build|info|path [REQ...]``: build and inspect guest environments."""

from __future__ import annotations

import json

from wasi_lsp.commands.options import grants_from, project_config, sandbox_options


def add_parser(sub) -> None:
    env = sub.add_parser("env", help="build and inspect guest environments")
    env_sub = env.add_subparsers(dest="env_command", required=True, metavar="ACTION")
    for name, text in (("build", "build (or reuse) the environment"), ("info", "show what is installed"),
                       ("path", "print the environment's host directory")):
        p = env_sub.add_parser(name, help=text)
        sandbox_options(p)
        p.add_argument("requirements_args", nargs="*", metavar="REQ")


def run(options) -> int:
    from wasi_lsp.env import ensure_env

    project = project_config(options)
    grants = grants_from(options, project, options.requirements_args)
    env = ensure_env(grants.requirements, grants.runtime)
    if options.env_command == "path":
        print(env.root)
    elif options.env_command == "build":
        meta = env.metadata()
        print(f"environment ready: {env.root}")
        print(f"  python {meta['python']}, {len(meta['installed'])} distributions")
        for note in meta["notes"]:
            print(f"  note: {note}")
    else:
        print(json.dumps({"root": str(env.root), **env.metadata()}, indent=2))
    return 0
