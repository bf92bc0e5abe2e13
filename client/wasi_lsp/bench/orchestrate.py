"""One bench run: check the options, warm every cache, then time each part on every target.

Starts are taken round-robin over the targets so that a change in the
machine's load hits them alike; a first start is also timed on a cache
without the compiled runtime (the cold start after an install).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from wasi_lsp.bench.measure import bench_env_build, bench_interpreter, bench_pytest, measure_latency, measure_start
from wasi_lsp.bench.report import Results, machine_description, plot, print_tables
from wasi_lsp.bench.targets import SERVERS, Target
from wasi_lsp.errors import WasiLspError

SIZES = (100, 1_000, 10_000)
PARTS = ("start", "cold", "latency", "interpreter", "env", "pytest")

#: Cache kinds holding compiled machine code: left out of the cold cache so the first start compiles.
COMPILED_KINDS = ("aot", "aot-cli")

#: The bench's own cache kind (workspace, host bytecode): used through its real path, never through the cold cache.
BENCH_KIND = "bench"

def _cold_cache_dir() -> Path:
    """A cache with everything but the compiled runtime, so the first start pays the compile (not the env build)."""
    from wasi_lsp.cache import cache_root

    cold = Path(tempfile.mkdtemp(prefix="wasi-lsp-bench-cold-"))
    root = cache_root()
    for kind in (root.iterdir() if root.is_dir() else ()):
        if kind.is_dir() and kind.name not in (*COMPILED_KINDS, BENCH_KIND):
            subprocess.run(["cp", "-al", str(kind), str(cold / kind.name)], check=False)
    return cold

def _targets(hosts: str) -> list[Target]:
    """Native first (every ratio's base), then each requested ``HOST[@RUNTIME]``."""
    from wasi_lsp.hosts import get_host

    found = [Target("native", None)]
    for token in filter(None, hosts.split(",")):
        host, _, runtime = token.partition("@")
        get_host(host)  # an unknown or unavailable host stops the run before any timing, naming the fix
        found.append(Target(f"wasi-{token}", host, runtime or None))
        if runtime.startswith("built:"):
            found.append(Target(f"wasi-{token}+snapshot", host, runtime, snapshot=True))
    return found

def _options(options) -> tuple[set[str], list[int], list[str]]:
    skip = set(filter(None, options.skip.split(",")))
    if skip - set(PARTS):
        raise WasiLspError(f"unknown part to skip: {', '.join(sorted(skip - set(PARTS)))}",
                           fix=f"use some of: {','.join(PARTS)}")
    servers = [s for s in options.servers.split(",") if s]
    if set(servers) - set(SERVERS):
        raise WasiLspError(f"unknown server: {', '.join(sorted(set(servers) - set(SERVERS)))}",
                           fix=f"use some of: {','.join(SERVERS)}")
    try:
        sizes = [int(s) for s in options.sizes.split(",") if s]
    except ValueError:
        raise WasiLspError(f"--sizes must be line counts, got {options.sizes!r}",
                           fix="e.g. --sizes 100,1000,10000") from None
    if options.runs < 1 or options.requests < 1 or not sizes or min(sizes) < 20:
        raise WasiLspError("--runs and --requests must be at least 1 and every size at least 20 lines",
                           fix="e.g. --runs 10 --requests 20 --sizes 100,1000,10000")
    if options.plot and "latency" in skip:
        raise WasiLspError("--plot draws the latency measurements, but latency is skipped",
                           fix="drop latency from --skip, or drop --plot")
    return skip, sizes, servers

def _bytecode_cached() -> None:
    """Let every process the bench starts cache its bytecode, as an installed package does.

    With PYTHONDONTWRITEBYTECODE (common in development shells) the host
    package and native rstls, imported from a source tree, would be compiled
    on every start: a cost neither a real install nor the guest (whose
    bytecode is precompiled) pays. The cache goes beside the others, never
    into the source tree; the guest's environment never sees these variables.
    """
    from wasi_lsp.cache import cache_root

    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(cache_root() / BENCH_KIND / "pycache")

async def bench(options) -> int:
    from rich.console import Console

    console = Console(stderr=True)
    skip, sizes, servers = _options(options)
    _bytecode_cached()
    runtimes = _targets(options.hosts)
    results = Results(machine=machine_description(), date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                      load=[round(x, 2) for x in os.getloadavg()])
    workspace = _workspace(runtimes)
    try:
        started = servers if "start" not in skip else ["rstls"] if "latency" not in skip else []
        for rt in runtimes:  # warm every cache first: environments, overlays, compiled runtimes, snapshots
            for server in started:
                await measure_start(rt.command(server, workspace), workspace)
        if "start" not in skip:
            for server in servers:
                results.start[server] = await _start_times(server, runtimes, workspace, options.runs,
                                                           cold="cold" not in skip, console=console)
        if "latency" not in skip:
            for rt in runtimes:
                console.log(f"latency: rstls on {rt.label}")
                results.latency[rt.label], results.memory[rt.label] = await measure_latency(
                    rt.command("rstls", workspace), workspace, sizes, options.requests)
        if "interpreter" not in skip:
            console.log("interpreter: a fixed pure-Python loop, timed in-process")
            results.interpreter = bench_interpreter(runtimes)
        if "env" not in skip:
            console.log("environment build: cold and warm")
            results.env_build = bench_env_build()
        if "pytest" not in skip:
            results.pytest = bench_pytest(console, runtimes)
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
    print_tables(results, runtimes)
    if options.json_out:
        Path(options.json_out).write_text(json.dumps(asdict(results), indent=2, ensure_ascii=False) + "\n")
    if options.plot:
        plot(results, runtimes, Path(options.plot))
    return 0

async def _start_times(server: str, runtimes: list[Target], workspace: Path, runs: int, *, cold: bool,
                       console) -> dict:
    """Start times per runtime, taken round-robin so a change in the machine's load hits every runtime alike."""
    firsts = {}
    for rt in runtimes:
        if rt.host is not None and cold:
            console.log(f"first start, cold cache: {server} on {rt.label}")
            firsts[rt.label] = await _cold_start(rt.command(server, workspace), workspace)
    console.log(f"warm starts: {server}, {runs} rounds over {len(runtimes)} runtimes")
    samples: dict[str, list[float]] = {rt.label: [] for rt in runtimes}
    for _ in range(runs):
        for rt in runtimes:
            samples[rt.label].append(await measure_start(rt.command(server, workspace), workspace))
    return {label: {"median": statistics.median(xs), "spread": statistics.pstdev(xs), "min": min(xs),
                     "max": max(xs), "n": len(xs), "cold": firsts.get(label)} for label, xs in samples.items()}

def _workspace(runtimes: list[Target]) -> Path:
    """A fresh directory; with snapshots a fixed one, since a snapshot is tied to its mounts and can then be reused."""
    from wasi_lsp.cache import cache_root

    if not any(rt.snapshot for rt in runtimes):
        return Path(tempfile.mkdtemp(prefix="wasi-lsp-bench-ws-"))
    workspace = cache_root() / BENCH_KIND / "workspace"
    shutil.rmtree(workspace, ignore_errors=True)
    workspace.mkdir(parents=True)
    return workspace

async def _cold_start(command: list[str], workspace: Path) -> float:
    """The first start after install: the runtime is compiled for this machine (the environment is not rebuilt)."""
    cold_dir = _cold_cache_dir()
    saved = os.environ.get("WASI_LSP_CACHE_DIR")
    os.environ["WASI_LSP_CACHE_DIR"] = str(cold_dir)
    try:
        return await measure_start(command, workspace)
    finally:
        _restore("WASI_LSP_CACHE_DIR", saved)
        shutil.rmtree(cold_dir, ignore_errors=True)

def _restore(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value
