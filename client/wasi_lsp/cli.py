"""The ``wasi-lsp`` command line.

Every user-facing failure is a :class:`WasiLspError`, printed as one message
with a non-zero exit; tracebacks are reserved for bugs in wasi-lsp itself.
"""

from __future__ import annotations

import argparse
import sys

from wasi_lsp.errors import WasiLspError


def sandbox_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("sandbox (defaults from [tool.wasi-lsp])")
    g.add_argument("--runtime",
                   help="auto (default: built:3.11 when built, else pinned) | pinned | built:X.Y | PATH to python.wasm")
    g.add_argument("--runtime-sha256", help="expected sha256 of a --runtime PATH")
    g.add_argument("--host", help="wasmtime (default) | wasmtime-cli | node")
    g.add_argument("--with", dest="with_", action="append", default=[], metavar="REQ",
                   help="add a requirement to the guest environment (repeatable)")
    g.add_argument("--requirements", "-r", action="append", default=[], metavar="FILE",
                   help="add requirements from a file (repeatable)")
    g.add_argument("--dir", action="append", default=[], metavar="HOST[::GUEST][:ro]",
                   help="mount a host directory (read-write unless :ro); GUEST defaults to the same path")
    g.add_argument("--env", action="append", default=[], metavar="NAME[=VALUE]",
                   help="set a guest variable; a bare NAME passes the host's value")
    g.add_argument("--max-memory", metavar="SIZE", help="cap the guest's linear memory, e.g. 512M")
    g.add_argument("--timeout", type=float, metavar="SECONDS", help="wall-clock limit for the guest")
    g.add_argument("--no-project", action="store_true", help="ignore [tool.wasi-lsp] in pyproject.toml")
    g.add_argument("--print-capabilities", action="store_true",
                   help="print what the guest is granted, then exit")


#: Commands defined in this module; starting one of them imports no other command module.
#: How `serve` uses Wizer snapshots (wasi_lsp.snapshot.for_serve).
SNAPSHOT_MODES = ("auto", "require", "off")
BUILTIN_COMMANDS = ("run", "serve", "env")  # `runtime` has actions in command modules (build, snapshot)


def build_parser(*, with_command_modules: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wasi-lsp",
        description="Run, serve and test Python language servers on WASI Python.",
    )
    from wasi_lsp import __version__

    parser.add_argument("--version", action="version", version=f"wasi-lsp {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run python inside WASI: wasi-lsp run [options] -- ARGS")
    sandbox_options(run)
    run.add_argument("args", nargs=argparse.REMAINDER, help="arguments for python (after --)")

    serve = sub.add_parser("serve", help="serve a language server over stdio inside WASI")
    sandbox_options(serve)
    snapshots = serve.add_argument_group("snapshots (a runtime built with wasi-lsp runtime build)")
    snapshots.add_argument("--snapshot", choices=SNAPSHOT_MODES,
                           help="auto: use a matching snapshot, making one on the first start (a failure only "
                                "means a plain start); require: make one with this run's mounts or fail; off: never "
                                "(default: [tool.wasi-lsp] snapshot, else auto)")
    snapshots.add_argument("--preload", metavar="MODULES",
                           help="the snapshot's preload list, comma-separated (default: [tool.wasi-lsp] preload)")
    serve.add_argument("server", nargs="?",
                       help="module, module:object, or a console script (default: [tool.wasi-lsp] server)")
    serve.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the server (after --)")

    env = sub.add_parser("env", help="build and inspect guest environments")
    env_sub = env.add_subparsers(dest="env_command", required=True, metavar="ACTION")
    for name, text in (("build", "build (or reuse) the environment"), ("info", "show what is installed"),
                       ("path", "print the environment's host directory")):
        p = env_sub.add_parser(name, help=text)
        sandbox_options(p)
        p.add_argument("requirements_args", nargs="*", metavar="REQ")

    runtime = sub.add_parser("runtime", help="inspect, verify and compile the WASI runtime")
    runtime_sub = runtime.add_subparsers(dest="runtime_command", required=True, metavar="ACTION")
    for name, text in (("info", "describe the runtime"), ("verify", "check its sha256"),
                       ("compile", "AOT-compile it into the cache now")):
        p = runtime_sub.add_parser(name, help=text)
        p.add_argument("--runtime", help="auto (default) | pinned | built:X.Y | PATH to python.wasm")
        p.add_argument("--runtime-sha256")
        p.add_argument("--no-project", action="store_true", help="ignore [tool.wasi-lsp] in pyproject.toml")
    if with_command_modules:  # about 100 ms of imports that `run` and `serve` do not need
        for name, module, text in (("build", "wasi_lsp.runtime_build", "build CPython for WASI from Debian's sources"),
                                   ("snapshot", "wasi_lsp.snapshot", "pre-initialize a built runtime (Wizer)")):
            p = runtime_sub.add_parser(name, help=text)
            _import(module).add_arguments(p)
            p.set_defaults(command_module=module)
        for module in COMMAND_MODULES:
            _import(module).add_parser(sub)
    return parser


#: Further commands, each a module with ``add_parser(subparsers)`` and ``run(options) -> int``.
#: The parser built by ``add_parser`` must ``set_defaults(command_module=<this module's name>)``.
COMMAND_MODULES: list[str] = ["wasi_lsp.bench", "wasi_lsp.wasi_pytest", "wasi_lsp.check", "wasi_lsp.bundle.command"]


def _import(name: str):
    import importlib

    return importlib.import_module(name)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(with_command_modules=not (argv and argv[0] in BUILTIN_COMMANDS))
    options = parser.parse_args(argv)
    options.argv = list(argv)  # wasi-lsp pytest -n starts its shards with the same options
    try:
        if getattr(options, "command_module", None):
            return _import(options.command_module).run(options)
        from wasi_lsp import commands

        return commands.dispatch(options)
    except WasiLspError as error:
        print(f"wasi-lsp: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130
