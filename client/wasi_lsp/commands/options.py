"""Option plumbing every command shares: the sandbox flags, ``[tool.wasi-lsp]``, grants, the server.

One module so that a new command gets the same flags, defaults and errors as
the others by calling these, and so that no command module imports another.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from wasi_lsp import config as config_mod
from wasi_lsp.errors import WasiLspError
from wasi_lsp.hosts import host_choices

if TYPE_CHECKING:
    from wasi_lsp.sandbox import Grants
    from wasi_lsp.spec import RunSpec

#: How `serve` uses Wizer snapshots (wasi_lsp.snapshot.for_serve).
SNAPSHOT_MODES = ("auto", "require", "off")


def sandbox_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("sandbox (defaults from [tool.wasi-lsp])")
    g.add_argument("--runtime",
                   help="auto (default: built:3.11 when built, else pinned) | pinned | built:X.Y | PATH to python.wasm")
    g.add_argument("--runtime-sha256", help="expected sha256 of a --runtime PATH")
    g.add_argument("--host", help=host_choices())
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


def add_server_target(parser: argparse.ArgumentParser) -> None:
    """The ``SERVER`` positional of the commands that start a server."""
    parser.add_argument("server", nargs="?",
                        help="module, module:object, or a console script (default: [tool.wasi-lsp] server)")


def strip_dashdash(args: list[str]) -> list[str]:
    return args[1:] if args and args[0] == "--" else args


def read_requirements(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise WasiLspError(f"cannot read requirements file {path}: {error.strerror}") from None
    reqs = []
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line.startswith(("-r ", "--requirement ")):
            reqs.extend(read_requirements(path.parent / line.split(None, 1)[1]))
        elif line:
            reqs.append(line)
    return reqs


def project_config(options) -> config_mod.ProjectConfig:
    if getattr(options, "no_project", False):
        return config_mod.ProjectConfig()
    return config_mod.load()


def resolve_runtime(options, project: config_mod.ProjectConfig, *, sha256: str | None):
    """``--runtime``, else ``[tool.wasi-lsp] runtime``, else the default, as a Runtime."""
    from wasi_lsp.runtime_resolve import resolve

    return resolve(options.runtime or project.get("runtime"), sha256=sha256,
                   origin="--runtime" if options.runtime else "[tool.wasi-lsp] runtime =")


def grants_from(options, project: config_mod.ProjectConfig, extra_requirements: Sequence[str] = ()) -> Grants:
    from wasi_lsp.sandbox import Grants
    from wasi_lsp.spec import Limits

    runtime = resolve_runtime(options, project, sha256=options.runtime_sha256 or project.get("runtime-sha256"))
    requirements = list(project.get("requirements", [])) + list(extra_requirements)
    requirements_file = project.path("requirements-file")
    if requirements_file:
        requirements += read_requirements(requirements_file)
    requirements += list(options.with_)
    for file in options.requirements:
        requirements += read_requirements(Path(file))
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


def server_target(options, project, verb: str, example: str) -> str:
    """The server named on the command line, else ``[tool.wasi-lsp] server``; an error names both ways."""
    server = options.server or project.get("server")
    if not server:
        raise WasiLspError(
            f"no server to {verb}",
            fix=f"name one ({example}) or set server = ... in [tool.wasi-lsp]",
        )
    return server


def server_args(server: str, extra: list[str], console_scripts: Callable[[], dict[str, str]]) -> list[str]:
    """The guest's arguments that serve ``server`` (``module``, ``module:object`` or a console script).

    ``console_scripts`` is asked only for a name that may be one (it may build the environment).
    """
    from wasi_lsp.overlay import GUEST_CONSOLE_SCRIPTS

    if ":" in server:
        target = server
    elif server in GUEST_CONSOLE_SCRIPTS:
        target = GUEST_CONSOLE_SCRIPTS[server]
    else:
        target = console_scripts().get(server, server)
    return ["-m", "wasi_lsp_guest.serve", target, *extra]


def serve_run_spec(options, project) -> tuple[RunSpec, str]:
    """What ``serve`` runs, before any snapshot, and the server it serves.

    Shared with ``runtime snapshot`` so their mounts agree. The guest environment
    is built once, for both the console-script lookup and the spec.
    """
    from wasi_lsp import sandbox
    from wasi_lsp.env import ensure_env
    from wasi_lsp.overlay import guest_requirements

    server = server_target(options, project, "serve", "wasi-lsp serve my_module:server")
    grants = grants_from(options, project, guest_requirements(server))
    env = ensure_env(grants.requirements, grants.runtime)
    args = server_args(server, strip_dashdash(getattr(options, "args", [])), env.console_scripts)
    return sandbox.build(grants, args, env=env), server


def launch(options, spec: RunSpec, project) -> int:
    """Run ``spec`` on the chosen host, or only print what it grants (``--print-capabilities``)."""
    from wasi_lsp import sandbox
    from wasi_lsp.hosts import get_host

    host = get_host(options.host or project.get("host"))
    if options.print_capabilities:
        print(sandbox.describe(spec, host.name))
        return 0
    return host.run(spec)
