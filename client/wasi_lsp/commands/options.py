"""The actions behind each CLI command."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from wasi_lsp import config as config_mod
from wasi_lsp.errors import WasiLspError
from wasi_lsp.runtime import Runtime, resolve
from wasi_lsp.sandbox import Grants
from wasi_lsp.spec import Limits


def dispatch(options) -> int:
    handler = {
        "run": cmd_run,
        "serve": cmd_serve,
        "env": cmd_env,
        "runtime": cmd_runtime,
    }[options.command]
    return handler(options)


def _strip_dashdash(args: list[str]) -> list[str]:
    return args[1:] if args and args[0] == "--" else args


def _read_requirements(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise WasiLspError(f"cannot read requirements file {path}: {error.strerror}") from None
    reqs = []
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line.startswith(("-r ", "--requirement ")):
            reqs.extend(_read_requirements(path.parent / line.split(None, 1)[1]))
        elif line:
            reqs.append(line)
    return reqs


def project_config(options) -> config_mod.ProjectConfig:
    if getattr(options, "no_project", False):
        return config_mod.ProjectConfig()
    return config_mod.load()


def grants_from(options, project: config_mod.ProjectConfig, extra_requirements: Sequence[str] = ()) -> Grants:
    runtime = resolve(options.runtime or project.get("runtime"),
                      sha256=options.runtime_sha256 or project.get("runtime-sha256"),
                      origin="--runtime" if options.runtime else "[tool.wasi-lsp] runtime =")
    requirements = list(project.get("requirements", [])) + list(extra_requirements)
    requirements_file = project.path("requirements-file")
    if requirements_file:
        requirements += _read_requirements(requirements_file)
    requirements += list(options.with_)
    for file in options.requirements:
        requirements += _read_requirements(Path(file))
    dirs = ([d if "::" in d or d.startswith("/") else str(project.root / d) for d in project.get("dirs", [])]
            if project.root else [])
    env = [f"{k}={v}" for k, v in project.get("env", {}).items()]
    timeout = options.timeout if options.timeout is not None else (project.get("timeout") or None)
    limits = Limits(
        max_memory=config_mod.parse_size(options.max_memory or project.get("max-memory")),
        timeout=timeout or None,
    )
    return Grants(runtime=runtime, requirements=requirements, dirs=dirs + options.dir,
                  env=env + options.env, limits=limits)


def _launch(options, spec, project) -> int:
    from wasi_lsp import sandbox
    from wasi_lsp.hosts import get_host

    host = get_host(options.host or project.get("host"))
    if options.print_capabilities:
        print(sandbox.describe(spec, host.name))
        return 0
    return host.run(spec)


def cmd_run(options) -> int:
    from wasi_lsp import sandbox

    project = project_config(options)
    spec, _env = sandbox.build(grants_from(options, project), _strip_dashdash(options.args))
    return _launch(options, spec, project)


def serve_spec(options, project):
    """What ``serve`` runs, before any snapshot: shared with ``runtime snapshot`` so their mounts agree."""
    from wasi_lsp import sandbox
    from wasi_lsp.overlay import guest_requirements
    from wasi_lsp.serving import server_args, server_spec

    server = server_spec(options, project, "serve", "wasi-lsp serve my_module:server")
    grants = grants_from(options, project, guest_requirements(server))
    spec, _env = sandbox.build(grants, server_args(server, grants, _strip_dashdash(getattr(options, "args", []))))
    return spec, server


def cmd_serve(options) -> int:
    from wasi_lsp import snapshot

    project = project_config(options)
    spec, server = serve_spec(options, project)
    spec = snapshot.for_serve(spec, mode=options.snapshot or project.get("snapshot", "auto"),
                              preload=snapshot.configured_preload(options, project), server=server,
                              say=lambda text: print(text, file=sys.stderr, flush=True),
                              make=not options.print_capabilities)
    return _launch(options, spec, project)


def cmd_env(options) -> int:
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


def cmd_runtime(options) -> int:
    from wasi_lsp import aot, runtime as runtime_mod

    project = project_config(options)
    rt: Runtime = resolve(options.runtime or project.get("runtime"), sha256=options.runtime_sha256,
                          origin="--runtime" if options.runtime else "[tool.wasi-lsp] runtime =")
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
