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
from wasi_lsp.commands.options import grants_from, sandbox_options
from wasi_lsp.errors import WasiLspError
from wasi_lsp.purity import Dropped, split_pure
from wasi_lsp.sandbox import Grants
from wasi_lsp.suite_requirements import TestDeps, discover, source_roots

#: Options whose value is a file pytest writes; its directory must be mounted read-write.
OUTPUT_OPTIONS = ("--junitxml", "--junit-xml", "--basetemp", "--resultlog", "--report-log", "--wasi-report",
                  "--durations-path")
GUEST_PLUGIN = "wasi_lsp_guest.pytest_adapter"
#: The shard engine, installed into the guest environment only when the suite is sharded.
SPLIT_REQUIREMENT = "pytest-split>=0.9,<1"


def add_parser(sub) -> None:
    p = sub.add_parser("pytest", help="run a project's test suite inside WASI: wasi-lsp pytest [DIR] -- ARGS")
    sandbox_options(p)
    p.add_argument("--strict", action="store_true",
                   help="fail if a test requirement has no pure wheel, and count WASI-impossible tests as failures")
    scale = p.add_argument_group("scaling out (pytest-split shards, one WASI guest each)")
    scale.add_argument("-n", "--workers", type=_positive, default=1, metavar="N",
                       help="run N shards at once on this machine, merged into one summary, exit code and JUnit file")
    scale.add_argument("--shard", type=_shard, default=None, metavar="K/N",
                       help="run only shard K of N (1-based), e.g. one per job of a CI matrix")
    scale.add_argument("--durations-path", default=None, metavar="PATH",
                       help="pytest-split's recorded test durations, to balance shards "
                            "(default: PROJECT/.test_durations; record with -- --store-durations)")
    # One REMAINDER, split by split_project(): argparse alone would take `-- -k x` as PROJECT=-k.
    p.add_argument("args", nargs=argparse.REMAINDER, metavar="[PROJECT_DIR] [-- PYTEST_ARGS]",
                   help="the project directory (default: .), then arguments for pytest after --")


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a number of shards (1 or more), got {text!r}")
    return int(text)


def _shard(text: str) -> tuple[int, int]:
    k, slash, n = text.partition("/")
    if not (slash and k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n)):
        raise argparse.ArgumentTypeError(f"expected K/N with 1 <= K <= N (e.g. 2/4), got {text!r}")
    return int(k), int(n)


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
    project = project_dir(project_text)
    config = config_mod.ProjectConfig() if options.no_project else config_mod.load(project)
    if config.root is not None and config.root != project:
        config = config_mod.ProjectConfig()  # a parent's [tool.wasi-lsp] is not this project's
    deps = discover(project, config.get("test-requirements"))
    shard = getattr(options, "shard", None)  # `wasi-lsp check` plans a run without the scaling options
    sharded = shard is not None or getattr(options, "workers", 1) > 1
    grants = grants_from(options, config, deps.all + ([SPLIT_REQUIREMENT] if sharded else []))
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
    if shard is not None:
        k, n = shard
        durations = options.durations_path or str(project / ".test_durations")
        # Before the user's arguments, so that a --durations-path of theirs (or a shard's own copy) wins.
        pytest_args = ["--splits", str(n), "--group", str(k), "--splitting-algorithm", "least_duration",
                       f"--durations-path={durations}", *pytest_args]
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
    if options.workers > 1 and options.shard is not None:
        raise WasiLspError("-n and --shard do not combine", fix="use -n N on one machine, or --shard K/N per CI job")
    p = plan(options, project, args, strict=options.strict)
    if options.workers > 1:
        return _run_shards(options, p, args)
    host = get_host(p.host)
    describe_plan(p)
    spec = sandbox.build(p.grants, p.args)
    if options.print_capabilities:
        print(sandbox.describe(spec, host.name))
        return 0
    return host.run(spec)


def _run_shards(options, p: Plan, pytest_args: list[str]) -> int:
    """``-n N``: the environment is built once here, then N shard processes share it."""
    from wasi_lsp import sandbox, shards

    describe_plan(p)
    sandbox.build(p.grants, p.args)  # builds the guest environment once, before the shards race for it
    argv = options.argv
    prefix = _without_workers(argv[: len(argv) - len(options.args)])
    user, junit = _take_junit(pytest_args)
    store = None
    if "--store-durations" in user:
        store = options.durations_path or str(p.project / ".test_durations")
    if junit:
        junit = str((Path.cwd() / os.path.expanduser(junit)).resolve())
    return shards.run(prefix, str(p.project), user, options.workers, junit, store)


def _without_workers(prefix: list[str]) -> list[str]:
    out, skip = [], False
    for arg in prefix:
        if skip:
            skip = False
        elif arg in ("-n", "--workers"):
            skip = True
        elif not (arg.startswith("--workers=") or (arg.startswith("-n") and arg[2:].isdigit())):
            out.append(arg)
    return out


def _take_junit(args: list[str]) -> tuple[list[str], str | None]:
    """The user's JUnit path, taken out: each shard writes its own and they are merged into it."""
    out, junit, i = [], None, 0
    while i < len(args):
        name, eq, value = args[i].partition("=")
        if name in ("--junitxml", "--junit-xml"):
            if not eq and i + 1 < len(args):
                value, i = args[i + 1], i + 1
            junit = value
        else:
            out.append(args[i])
        i += 1
    return out, junit
