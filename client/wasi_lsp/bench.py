"""``wasi-lsp bench``: native CPython and every WASI host, side by side, in one run.

Absolute times on a shared machine are noise; ratios taken in the same run are
not. Every figure is therefore printed next to native's and as a ratio to it.
Servers are driven by pygls' own LanguageClient, exactly as an editor would.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from wasi_lsp.errors import WasiLspError

SIZES = (100, 1_000, 10_000)
PARTS = ("start", "cold", "latency", "interpreter", "env", "pytest")
SERVERS = {
    "minimal": "wasi_lsp_guest.minimal_server:server",
    "rstls": "rstls",
}


def add_parser(sub) -> None:
    p = sub.add_parser("bench", help="benchmark native CPython vs each WASI host, side by side")
    p.add_argument("--hosts", default="wasmtime",
                   help="comma-separated WASI hosts, each HOST or HOST@RUNTIME, e.g. "
                        "wasmtime,node,wasmtime@built:3.11 (a built runtime is measured plain and from a "
                        "snapshot; default: wasmtime)")
    p.add_argument("--runs", type=int, default=10,
                   help="cold-start runs per server and runtime (default 10; fewer only for a smoke test)")
    p.add_argument("--requests", type=int, default=20, help="requests per latency measurement")
    p.add_argument("--sizes", default=",".join(map(str, SIZES)), help="document sizes in lines")
    p.add_argument("--json", dest="json_out", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--plot", metavar="PNG", help="also plot latency against document size")
    p.add_argument("--servers", default=",".join(SERVERS), help="cold-start servers (default: minimal,rstls)")
    p.add_argument("--skip", default="",
                   help=f"comma-separated parts to skip: {','.join(PARTS)} (cold: the cold-cache first start)")
    p.set_defaults(command_module=__name__)


@dataclass
class Runtime:
    """Native CPython (host None), or a WASI host on the default runtime or on ``runtime`` (``--runtime``).

    With ``snapshot``, ``serve`` runs from a Wizer snapshot of the server's
    imports (made by the first, warm-up start: ``--snapshot require``). A host
    without ``@RUNTIME`` is what a user gets with no flags: the default runtime
    and the default snapshot mode; a named runtime is measured plain
    (``--snapshot off``) unless ``snapshot``.
    """

    label: str
    host: str | None
    runtime: str | None = None
    snapshot: bool = False

    def command(self, server: str, workspace: Path) -> list[str]:
        if self.host is None:
            if server == "rstls":
                return [sys.executable, "-m", "rstls"]
            return [sys.executable, "-m", "wasi_lsp_guest.serve", SERVERS[server]]
        mode = [] if self.runtime is None else ["--snapshot", "require" if self.snapshot else "off"]
        return [*self.wasi_lsp("serve"), "--no-project", *mode,
                "--with", "pygls>=2.1,<3", "--dir", str(workspace), SERVERS[server]]

    def wasi_lsp(self, command: str) -> list[str]:
        """``wasi-lsp COMMAND`` on this host and runtime."""
        return [sys.executable, "-m", "wasi_lsp", command, "--host", self.host,
                *(["--runtime", self.runtime] if self.runtime else [])]


@dataclass
class Results:
    machine: str
    date: str
    start: dict = field(default_factory=dict)      # server -> runtime -> {median, spread, cold}
    latency: dict = field(default_factory=dict)    # runtime -> request -> size -> {p50, p95}
    memory: dict = field(default_factory=dict)     # runtime -> {peak_rss_mib, linear_mib}
    interpreter: dict = field(default_factory=dict)  # runtime -> seconds of a fixed pure-Python loop, in-process
    env_build: dict = field(default_factory=dict)  # {cold, warm}
    pytest: dict = field(default_factory=dict)     # runtime -> seconds (or an error), plus "suite"
    load: list = field(default_factory=list)       # 1/5/15-minute load averages when the run started


def generate_document(lines: int) -> str:
    """A reST document of about ``lines`` lines: sections, labels, directives, references."""
    out: list[str] = ["Benchmark document", "==================", ""]
    section = 0
    while len(out) < lines:
        section += 1
        title = f"Section {section}"
        out += [f".. _label-{section}:", "", title, "-" * len(title), "",
                f"Paragraph with a :ref:`label-{max(1, section - 1)}` reference and *emphasis*.", "",
                ".. note::", "", "   A note with ``literal`` text.", "",
                ".. code-block:: python" if section % 2 else ".. topic:: Topic", "",
                "   print('hello')", ""]
    return "\n".join(out[:lines]) + "\n"


async def _session(command: list[str], workspace: Path):
    from lsprotocol import types
    from pygls.lsp.client import LanguageClient

    client = LanguageClient("wasi-lsp-bench", "v1")
    diagnostics: dict[str, asyncio.Future] = {}

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_diagnostics(params: types.PublishDiagnosticsParams) -> None:
        waiter = diagnostics.pop(f"{params.uri}@{params.version}", None) or diagnostics.pop(params.uri, None)
        if waiter and not waiter.done():
            waiter.set_result(params)

    @client.feature(types.WINDOW_LOG_MESSAGE)
    def on_log(params) -> None:
        pass

    @client.feature(types.WINDOW_SHOW_MESSAGE)
    def on_show(params) -> None:
        pass

    await client.start_io(command[0], *command[1:], cwd=str(workspace))
    started = time.perf_counter()
    await client.initialize_async(
        types.InitializeParams(
            process_id=os.getpid(),
            root_uri=workspace.as_uri(),
            capabilities=types.ClientCapabilities(),
            workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="bench")],
        )
    )
    client.initialized(types.InitializedParams())
    return client, diagnostics, started


async def _close(client) -> None:
    try:
        await asyncio.wait_for(client.shutdown_async(None), 30)
        client.exit(None)
    except Exception:
        pass
    try:
        await asyncio.wait_for(client.stop(), 10)
    except Exception:
        pass


async def measure_start(command: list[str], workspace: Path) -> float:
    t0 = time.perf_counter()
    client, _, _ = await _session(command, workspace)
    elapsed = time.perf_counter() - t0
    await _close(client)
    return elapsed


#: An inaccessible mapping at least this large is the unused rest of a wasm linear-memory reservation
#: (wasmtime reserves 4 GiB + guard, V8 more); the accessible part, the linear memory, lies just before it.
LINEAR_RESERVATION = 1 << 30


def _process_tree(pid: int) -> list[int]:
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                pending.extend(int(c) for c in (task / "children").read_text().split())
        except OSError:
            continue
    return found


def tree_memory(pid: int) -> dict:
    """Peak RSS (VmHWM) of the server and its children, and the resident part of wasm linear memory.

    The peak covers the host process with its linear memory inside it (the
    embedded host) or the wrapper plus the child host (CLI hosts). Linear
    memory never shrinks, so what is resident in it now is its peak.
    """
    peak_kib = linear_kib = 0
    for current in _process_tree(pid):
        try:
            status = Path(f"/proc/{current}/status").read_text()
            peak_kib += int(next(l for l in status.splitlines() if l.startswith("VmHWM")).split()[1])
            linear_kib += _linear_kib(Path(f"/proc/{current}/smaps").read_text())
        except (OSError, StopIteration, ValueError):
            continue
    return {"peak_rss_mib": peak_kib / 1024, "linear_mib": linear_kib / 1024}


def _linear_kib(smaps: str) -> int:
    """Resident KiB of read-write mappings that end where a huge inaccessible reservation begins."""
    mappings: list[list] = []  # [start, end, perms, rss_kib]
    for line in smaps.splitlines():
        head = line.split(maxsplit=2)
        if len(head) >= 2 and "-" in head[0] and len(head[1]) == 4 and head[1][0] in "r-":
            start, end = (int(x, 16) for x in head[0].split("-"))
            mappings.append([start, end, head[1], 0])
        elif line.startswith("Rss:") and mappings:
            mappings[-1][3] = int(line.split()[1])
    return sum(before[3] for before, after in zip(mappings, mappings[1:])
               if before[2].startswith("rw") and after[2] == "---p" and after[0] == before[1]
               and after[1] - after[0] >= LINEAR_RESERVATION)


async def measure_latency(command: list[str], workspace: Path, sizes, requests: int) -> tuple[dict, dict]:
    from lsprotocol import types

    client, diagnostics, _ = await _session(command, workspace)
    out: dict = {"completion": {}, "hover": {}, "documentSymbol": {}, "didChange→diagnostics": {}}
    loop = asyncio.get_running_loop()
    try:
        for size in sizes:
            path = workspace / f"doc-{size}.rst"
            text = generate_document(size)
            path.write_text(text)
            uri = path.as_uri()
            version = 1
            waiter = loop.create_future()
            diagnostics[uri] = waiter
            client.text_document_did_open(types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=uri, language_id="restructuredtext", version=version, text=text)))
            try:
                await asyncio.wait_for(waiter, 120)
            except asyncio.TimeoutError:
                pass
            doc = types.TextDocumentIdentifier(uri=uri)
            mid = min(size // 2, text.count("\n") - 1)
            probes = {
                "completion": lambda: client.text_document_completion_async(types.CompletionParams(
                    text_document=doc, position=types.Position(line=mid, character=0))),
                "hover": lambda: client.text_document_hover_async(types.HoverParams(
                    text_document=doc, position=types.Position(line=_line_of(text, ".. note::", mid), character=4))),
                "documentSymbol": lambda: client.text_document_document_symbol_async(
                    types.DocumentSymbolParams(text_document=doc)),
            }
            for name, probe in probes.items():
                samples = []
                for _ in range(requests):
                    t0 = time.perf_counter()
                    await asyncio.wait_for(probe(), 120)
                    samples.append(time.perf_counter() - t0)
                out[name][size] = _percentiles(samples)
            samples = []
            for i in range(max(3, requests // 2)):
                version += 1
                edited = text.replace("Paragraph with", f"Paragraph {i} with", 1)
                waiter = loop.create_future()
                diagnostics[uri] = waiter
                t0 = time.perf_counter()
                client.text_document_did_change(types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                    content_changes=[types.TextDocumentContentChangeWholeDocument(text=edited)]))
                await asyncio.wait_for(waiter, 120)
                samples.append(time.perf_counter() - t0)
            out["didChange→diagnostics"][size] = _percentiles(samples)
        memory = tree_memory(client._server.pid)
    finally:
        await _close(client)
    return out, memory


def _line_of(text: str, needle: str, near: int) -> int:
    lines = text.splitlines()
    for i in range(near, len(lines)):
        if lines[i].startswith(needle):
            return i
    return 0


def _percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"p50": statistics.median(ordered), "p95": p95, "n": len(ordered)}


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


def bench_env_build() -> dict:
    from wasi_lsp.overlay import guest_requirements

    reqs = guest_requirements("rstls")
    cold = Path(tempfile.mkdtemp(prefix="wasi-lsp-bench-env-"))
    try:
        args = [sys.executable, "-m", "wasi_lsp", "env", "build", "--no-project", *reqs]
        env = dict(os.environ, WASI_LSP_CACHE_DIR=str(cold))
        t0 = time.perf_counter()
        _checked(args, env=env)
        cold_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        _checked(args, env=env)
        warm_s = time.perf_counter() - t0
    finally:
        shutil.rmtree(cold, ignore_errors=True)
    return {"cold": cold_s, "warm": warm_s, "requirements": reqs}


def _checked(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run a timed step: a failed step would report a meaningless time, so it stops the run instead."""
    proc = subprocess.run(args, capture_output=True, text=True, **kwargs)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise WasiLspError(f"benchmark step failed (exit {proc.returncode}): {' '.join(args)}\n{tail}",
                           fix="run that command by hand to see the whole error, or --skip that part")
    return proc


#: A fixed pure-Python workload timed inside the interpreter: how much slower the WASI interpreter itself
#: is, without start-up, I/O or the LSP pipe. It is the floor under every latency ratio.
INTERPRETER_LOOP = r"""
import re, time
t = time.perf_counter()
s = 0
for i in range(1_000_000):
    s += i * i
for i in range(1500):
    type(f"C{i}", (), {"x": i})
for i in range(200):
    re.compile(rf"^\s*\.\.\s+(\w+{i})::\s*(.*)$")
print(time.perf_counter() - t)
"""


def bench_interpreter(runtimes: list[Runtime], rounds: int = 3) -> dict:
    """Best of ``rounds`` per runtime, taken round-robin so a change in load hits every runtime alike."""
    commands = {rt.label: ([sys.executable, "-c", INTERPRETER_LOOP] if rt.host is None else
                           [*rt.wasi_lsp("run"), "--no-project", "--", "-c", INTERPRETER_LOOP])
                for rt in runtimes if not rt.snapshot}  # `run` never starts from a snapshot
    times: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(rounds):
        for label, args in commands.items():
            times[label].append(float(_checked(args).stdout.split()[-1]))
    return {label: min(samples) for label, samples in times.items()}


BENCH_SUITE = Path(__file__).resolve().parents[2] / "tests" / "projects" / "bench_suite"


def bench_pytest(console, runtimes: list[Runtime]) -> dict:
    """The sample suite under ``wasi-lsp pytest`` on each host vs native pytest (when that command exists)."""
    from wasi_lsp import cli

    if "wasi_lsp.wasi_pytest" not in cli.COMMAND_MODULES or not BENCH_SUITE.is_dir():
        return {}
    console.log("pytest: sample suite native vs WASI")
    out: dict = {"suite": BENCH_SUITE.name}
    for rt in (rt for rt in runtimes if not rt.snapshot):  # nor does `wasi-lsp pytest`
        args = ([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(BENCH_SUITE)]
                if rt.host is None else
                [*rt.wasi_lsp("pytest"), str(BENCH_SUITE), "--", "-q", "-p", "no:cacheprovider"])
        try:
            _checked(args, cwd=BENCH_SUITE)  # warms the test environment: its build is not the suite's time
            t0 = time.perf_counter()
            _checked(args, cwd=BENCH_SUITE)
            out[rt.label] = time.perf_counter() - t0
        except WasiLspError as error:  # one runtime's failing suite is a finding to report, not a reason to stop
            out.setdefault("errors", {})[rt.label] = error.message.splitlines()[-1]
            console.log(f"pytest failed on {rt.label}: {out['errors'][rt.label]}")
    return out


def run(options) -> int:
    return asyncio.run(_main(options))


def _runtimes(hosts: str) -> list[Runtime]:
    """Native first (every ratio's base), then each requested ``HOST[@RUNTIME]``."""
    from wasi_lsp.hosts import get_host

    found = [Runtime("native", None)]
    for token in filter(None, hosts.split(",")):
        host, _, runtime = token.partition("@")
        get_host(host)  # an unknown or unavailable host stops the run before any timing, naming the fix
        found.append(Runtime(f"wasi-{token}", host, runtime or None))
        if runtime.startswith("built:"):
            found.append(Runtime(f"wasi-{token}+snapshot", host, runtime, snapshot=True))
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


async def _main(options) -> int:
    from rich.console import Console

    console = Console(stderr=True)
    skip, sizes, servers = _options(options)
    _bytecode_cached()
    runtimes = _runtimes(options.hosts)
    results = Results(machine=_machine(), date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
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


async def _start_times(server: str, runtimes: list[Runtime], workspace: Path, runs: int, *, cold: bool,
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


def _workspace(runtimes: list[Runtime]) -> Path:
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


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        model = next(l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                     if l.startswith("model name"))
        cpu = model
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def _ratio(value: float | None, base: float | None) -> str:
    if value is None or not base:
        return "-"
    return f"{value / base:.2f}×"


def print_tables(results: Results, runtimes: list[Runtime]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 200)
    console.print(f"[bold]wasi-lsp bench[/] — {results.machine}, {results.date}, "
                  f"load average {' '.join(map(str, results.load))}")
    wasi = [rt.label for rt in runtimes if rt.host]
    if results.start:
        table = Table(title="Cold start: spawn → initialize result (warm caches; median ± stdev)")
        table.add_column("server")
        table.add_column("native")
        for label in wasi:
            table.add_column(label)
            table.add_column("ratio")
            table.add_column("first run, cold cache")
        for server, by_rt in results.start.items():
            native = by_rt["native"]["median"]
            row = [server, f"{native * 1000:.0f} ms ± {by_rt['native']['spread'] * 1000:.0f}"]
            for label in wasi:
                r = by_rt[label]
                row += [f"{r['median'] * 1000:.0f} ms ± {r['spread'] * 1000:.0f}", _ratio(r["median"], native),
                        f"{r['cold']:.2f} s" if r["cold"] else "-"]
            table.add_row(*row)
        console.print(table)
    if results.latency:
        table = Table(title="rstls request latency p50 / p95 (ratio to native)")
        table.add_column("request")
        table.add_column("lines", justify="right")
        table.add_column("native p50/p95")
        for label in wasi:
            table.add_column(f"{label} p50/p95")
            table.add_column("ratio p50/p95")
        native = results.latency["native"]
        for request, by_size in native.items():
            for size, n in by_size.items():
                row = [request, str(size), f"{n['p50'] * 1000:.1f} / {n['p95'] * 1000:.1f} ms"]
                for label in wasi:
                    w = results.latency[label][request][size]
                    row += [f"{w['p50'] * 1000:.1f} / {w['p95'] * 1000:.1f} ms",
                            f"{_ratio(w['p50'], n['p50'])} / {_ratio(w['p95'], n['p95'])}"]
                table.add_row(*row)
        console.print(table)
        growth = Table(title="Latency growth, p50 at the largest size ÷ p50 at the smallest")
        growth.add_column("request")
        for rt in runtimes:
            growth.add_column(rt.label)
        for request in native:
            row = [request]
            for rt in runtimes:
                by_size = results.latency[rt.label][request]
                sizes = sorted(by_size)
                row.append(f"{by_size[sizes[-1]]['p50'] / by_size[sizes[0]]['p50']:.1f}×")
            growth.add_row(*row)
        console.print(growth)
    if results.memory:
        table = Table(title="Peak RSS of the rstls process tree after the latency run (host + linear memory)")
        table.add_column("runtime")
        table.add_column("peak RSS")
        table.add_column("of which wasm linear memory")
        table.add_column("ratio")
        base = results.memory.get("native", {}).get("peak_rss_mib")
        for label, mem in results.memory.items():
            table.add_row(label, f"{mem['peak_rss_mib']:.0f} MiB",
                          f"{mem['linear_mib']:.0f} MiB" if mem["linear_mib"] else "-",
                          _ratio(mem["peak_rss_mib"], base))
        console.print(table)
    _print_per_runtime(console, "Interpreter alone: a fixed pure-Python loop timed in-process (best of 3)",
                       results.interpreter, "s")
    if results.pytest:
        _print_per_runtime(console, f"pytest on tests/projects/{results.pytest['suite']}: wall time, warm env",
                           {k: v for k, v in results.pytest.items() if k not in ("suite", "errors")}, "s")
        for label, error in results.pytest.get("errors", {}).items():
            console.print(f"pytest failed on {label}: {error}")
    if results.env_build:
        console.print(f"Environment build for rstls ({len(results.env_build['requirements'])} requirements): "
                      f"cold {results.env_build['cold']:.1f} s, warm {results.env_build['warm']:.2f} s")


def _print_per_runtime(console, title: str, by_runtime: dict, unit: str) -> None:
    from rich.table import Table

    if not by_runtime:
        return
    table = Table(title=title)
    table.add_column("runtime")
    table.add_column(unit)
    table.add_column("ratio")
    for label, value in by_runtime.items():
        table.add_row(label, f"{value:.2f}", _ratio(value, by_runtime.get("native")))
    console.print(table)


def plot(results: Results, runtimes: list[Runtime], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    requests = list(results.latency.get("native", {}))
    fig, axes = plt.subplots(1, len(requests), figsize=(4 * len(requests), 3.6), squeeze=False)
    for ax, request in zip(axes[0], requests):
        for rt in runtimes:
            by_size = results.latency[rt.label][request]
            sizes = sorted(by_size)
            ax.plot(sizes, [by_size[s]["p50"] * 1000 for s in sizes], marker="o", label=rt.label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(request)
        ax.set_xlabel("document lines")
        ax.set_ylabel("p50 latency (ms)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend()
    fig.suptitle(f"rstls latency, native vs WASI — {results.date}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
