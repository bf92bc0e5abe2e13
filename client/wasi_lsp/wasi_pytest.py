"""``wasi-lsp pytest [PROJECT_DIR] [--strict] [-- PYTEST_ARGS]``: a project's own test suite, inside WASI.

Everything the seed walk-through did by hand happens here: the test
requirements are found and installed as pure wheels (those that cannot be
are left out, one line each, or fail the run under ``--strict``), the
project is imported from its source tree ahead of any installed copy, the
project directory is mounted read-write at its own path, and pytest is
started with the guest plugin that adapts it to WASI. The exit code is
pytest's.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from wasi_lsp import config as config_mod
from wasi_lsp.errors import WasiLspError
from wasi_lsp.purity import Dropped, split_pure
from wasi_lsp.sandbox import Grants
from wasi_lsp.testdeps import TestDeps, discover, source_roots

#: Options whose value is a file pytest writes; its directory must be mounted read-write.
OUTPUT_OPTIONS = ("--junitxml", "--junit-xml", "--basetemp", "--resultlog", "--report-log")
GUEST_PLUGIN = "wasi_lsp_guest.pytest_support"


def add_parser(sub) -> None:
    from wasi_lsp.cli import sandbox_options

    p = sub.add_parser("pytest", help="run a project's test suite inside WASI: wasi-lsp pytest [DIR] -- ARGS")
    sandbox_options(p)
    p.add_argument("--strict", action="store_true",
                   help="fail if a test requirement has no pure wheel, and count WASI-impossible tests as failures")
    # One REMAINDER, split by split_project(): argparse alone would take `-- -k x` as PROJECT=-k.
    p.add_argument("args", nargs=argparse.REMAINDER, metavar="[PROJECT_DIR] [-- PYTEST_ARGS]",
                   help="the project directory (default: .), then arguments for pytest after --")
    p.set_defaults(command_module=__name__)


@dataclass
class Plan:
    """Everything decided on the host before pytest starts in the guest."""

    project: Path
    deps: TestDeps
    dropped: list[Dropped]
    grants: Grants
    args: list[str] = field(default_factory=list)
    host: str | None = None


def split_project(args: list[str]) -> tuple[str, list[str]]:
    """``[PROJECT] [--] PYTEST_ARGS`` -> (project, pytest args)."""
    if args[:1] == ["--"]:
        return ".", args[1:]
    if not args:
        return ".", []
    rest = args[1:]
    return args[0], rest[1:] if rest[:1] == ["--"] else rest


def project_dir(text: str) -> Path:
    path = Path(text).expanduser().resolve()
    if not path.is_dir():
        raise WasiLspError(f"project directory {text} does not exist", fix="pass the directory holding the tests")
    return path


def plan(options, project_text: str, pytest_args: list[str], *, strict: bool) -> Plan:
    from wasi_lsp.commands import grants_from

    project = project_dir(project_text)
    config = config_mod.ProjectConfig() if options.no_project else config_mod.load(project)
    if config.root is not None and config.root != project:
        config = config_mod.ProjectConfig()  # a parent's [tool.wasi-lsp] is not this project's
    deps = discover(project, config.get("test-requirements"))
    grants = grants_from(options, config, deps.all)
    kept, dropped = split_pure(grants.requirements, grants.runtime)
    if dropped and strict:
        raise WasiLspError(
            "some test requirements cannot run in WASI (--strict):\n  " + "\n  ".join(d.line() for d in dropped),
            fix="drop --strict to run without them, or replace them with pure-Python alternatives",
        )
    grants.requirements = kept
    grants.dirs.append(str(project))
    grants.prepend = [root.as_posix() for root in source_roots(project)]
    cwd = Path.cwd().resolve()
    grants.cwd = cwd if cwd == project or project in cwd.parents else project
    args = _pytest_args(pytest_args, grants, project, strict=strict)
    return Plan(project, deps, dropped, grants, args, host=options.host or config.get("host"))


def _pytest_args(user: list[str], grants: Grants, project: Path, *, strict: bool) -> list[str]:
    args = ["-m", "pytest", "-p", "no:faulthandler", "-p", GUEST_PLUGIN, "--capture=sys"]
    if strict:
        args.append("--wasi-strict")
    i = 0
    while i < len(user):
        arg = user[i]
        if arg in ("--capture=fd", "--capture=tee-sys"):
            arg = "--capture=sys"  # fd capture needs os.dup, which WASI lacks
        elif arg == "--capture" and i + 1 < len(user):
            args += ["--capture=sys" if user[i + 1] != "no" else "--capture=no"]
            i += 2
            continue
        name, eq, value = arg.partition("=")
        if name in OUTPUT_OPTIONS:
            if not eq and i + 1 < len(user):
                value, i = user[i + 1], i + 1
            arg = f"{name}={_output_path(value, grants, project)}"
        args.append(arg)
        i += 1
    return args


def _output_path(value: str, grants: Grants, project: Path) -> str:
    """An absolute host path for a file pytest writes; its directory is mounted if nothing mounts it yet.

    Relative paths are relative to where the user runs wasi-lsp, as with pytest itself.
    """
    path = (Path.cwd() / os.path.expanduser(value)).resolve()
    if path == project or project in path.parents:
        return path.as_posix()
    existing = path.parent
    while not existing.is_dir():
        existing = existing.parent
    grants.dirs.append(str(existing))
    return path.as_posix()


def say(text: str) -> None:
    print(f"wasi-lsp: {text}", file=sys.stderr, flush=True)


def describe_plan(p: Plan) -> None:
    test = ", ".join(p.deps.test) or "nothing"
    say(f"test requirements from {p.deps.source}: {test}")
    if p.deps.runtime:
        say(f"project dependencies: {', '.join(p.deps.runtime)}")
    for dropped in p.dropped:
        say(dropped.line())
    say(f"importing the project from source: {', '.join(p.grants.prepend)}")


def run(options) -> int:
    from wasi_lsp import sandbox
    from wasi_lsp.hosts import get_host

    project, args = split_project(options.args)
    p = plan(options, project, args, strict=options.strict)
    host = get_host(p.host)
    describe_plan(p)
    spec, _env = sandbox.build(p.grants, p.args)
    if options.print_capabilities:
        print(sandbox.describe(spec, host.name))
        return 0
    return host.run(spec)
