"""``wasi-lsp runtime info|verify|compile|build|snapshot``: the WASI runtime itself."""

from __future__ import annotations

import sys

from wasi_lsp.commands.options import (
    grants_from,
    project_config,
    resolve_runtime,
    sandbox_options,
    serve_run_spec,
)
from wasi_lsp.errors import WasiLspError


def add_parser(sub) -> None:
    runtime = sub.add_parser("runtime", help="inspect, verify and compile the WASI runtime")
    runtime_sub = runtime.add_subparsers(dest="runtime_command", required=True, metavar="ACTION")
    for name, text in (("info", "describe the runtime"), ("verify", "check its sha256"),
                       ("compile", "AOT-compile it into the cache now")):
        p = runtime_sub.add_parser(name, help=text)
        p.add_argument("--runtime", help="auto (default) | pinned | built:X.Y | PATH to python.wasm")
        p.add_argument("--runtime-sha256")
        p.add_argument("--no-project", action="store_true", help="ignore [tool.wasi-lsp] in pyproject.toml")
    _add_build(runtime_sub.add_parser("build", help="build CPython for WASI from Debian's sources"))
    _add_snapshot(runtime_sub.add_parser("snapshot", help="pre-initialize a built runtime (Wizer)"))


def _add_build(parser) -> None:
    from wasi_lsp.runtime_build import RECIPES

    parser.add_argument("--python", default="3.11", choices=sorted(RECIPES), help="which CPython to build")
    parser.add_argument("--force", action="store_true", help="rebuild even when the manifest matches")
    parser.add_argument("--jobs", "-j", type=int, help="parallel compile jobs (default: all cores)")
    parser.add_argument("--verify-reproducible", action="store_true",
                        help="build a second time in another directory and compare the hashes")


def _add_snapshot(parser) -> None:
    sandbox_options(parser)
    parser.add_argument("--preload", metavar="MODULES",
                        help="modules to import before the snapshot, comma-separated "
                             "(default: [tool.wasi-lsp] preload, else the module the server is served from)")
    parser.add_argument("server", nargs="?",
                        help="the server it is for (default: [tool.wasi-lsp] server): selects its environment")


def run(options) -> int:
    action = {"build": _build, "snapshot": _snapshot}.get(options.runtime_command, _inspect)
    return action(options)


def _inspect(options) -> int:
    from wasi_lsp import aot
    from wasi_lsp import runtime as runtime_mod

    project = project_config(options)
    rt = resolve_runtime(options, project, sha256=options.runtime_sha256)
    if options.runtime_command == "info":
        info = runtime_mod.describe(rt)
        info["sha256"] = runtime_mod.verify(rt)
        artifact, _ = aot.artifact_paths(str(info["sha256"]))
        info["aot_cache"] = str(artifact) + ("" if artifact.is_file() else " (not compiled yet)")
        info["wasmtime"] = aot.wasmtime_version()
        for key, value in info.items():
            print(f"{key:>16}: {value}")
    elif options.runtime_command == "verify":
        digest = runtime_mod.verify(rt, force=True)
        print(f"ok: {rt.wasm} sha256 {digest}")
    else:
        aot.load_module(rt)
        artifact, _ = aot.artifact_paths(runtime_mod.verify(rt))
        print(f"compiled: {artifact}")
    return 0


def _build(options) -> int:
    from wasi_lsp.runtime_build import build, output_dir

    build(options.python, force=options.force, jobs=options.jobs,
          verify_reproducible=options.verify_reproducible, say=lambda text: print(text, file=sys.stderr))
    print(output_dir(options.python) / "python.wasm")
    return 0


def _snapshot(options) -> int:
    from wasi_lsp import sandbox, snapshot

    project = project_config(options)
    preload = snapshot.configured_preload(options, project)
    if options.server or project.get("server"):
        spec, server = serve_run_spec(options, project)
        preload = preload or snapshot.default_preload(server, spec.args)
    elif preload:
        spec = sandbox.build(grants_from(options, project), [])
        server = None
    else:
        raise WasiLspError("nothing to snapshot: no server and no --preload",
                           fix="name the server (wasi-lsp runtime snapshot rstls) or the modules (--preload pygls)")
    snap = snapshot.create(spec, preload, server=server, say=lambda text: print(text, file=sys.stderr))
    print(snap.wasm)
    return 0
