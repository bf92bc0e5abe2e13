"""``wasi-lsp bench``: native CPython and every WASI host, side by side, in one run.

Absolute times on a shared machine are noise; ratios taken in the same run are
not. Every figure is therefore printed next to native's and as a ratio to it.
Servers are driven by pygls' own LanguageClient, exactly as an editor would.
"""

from __future__ import annotations

import argparse
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

SIZES = (100, 1_000, 10_000)
SERVERS = {
    "minimal": "wasi_lsp_guest.minimal_server:server",
    "rstls": "rstls",
}


def add_parser(sub) -> None:
    p = sub.add_parser("bench", help="benchmark native CPython vs each WASI host, side by side")
    p.add_argument("--hosts", default="wasmtime", help="comma-separated WASI hosts (default: wasmtime)")
    p.add_argument("--runs", type=int, default=10, help="cold-start runs per server and runtime (>= 10)")
    p.add_argument("--requests", type=int, default=20, help="requests per latency measurement")
    p.add_argument("--sizes", default=",".join(map(str, SIZES)), help="document sizes in lines")
    p.add_argument("--json", dest="json_out", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--plot", metavar="PNG", help="also plot latency against document size")
    p.add_argument("--servers", default=",".join(SERVERS), help="cold-start servers (default: minimal,rstls)")
    p.add_argument("--skip", default="", help="comma-separated parts to skip: start,latency,env,pytest")
    p.set_defaults(command_module=__name__)


@dataclass
class Runtime:
    label: str
    host: str | None  # None: native CPython

    def command(self, server: str, workspace: Path) -> list[str]:
        if self.host is None:
            target = "rstls" if server == "rstls" else SERVERS[server]
            if target == "rstls":
                return [sys.executable, "-m", "rstls"]
            return [sys.executable, "-m", "wasi_lsp_guest.serve", target]
        return [sys.executable, "-m", "wasi_lsp", "serve", "--no-project", "--host", self.host,
                "--with", "pygls>=2.1,<3", "--dir", str(workspace), SERVERS[server]]


@dataclass
class Results:
    machine: str
    date: str
    start: dict = field(default_factory=dict)      # server -> runtime -> {median, spread, cold}
    latency: dict = field(default_factory=dict)    # runtime -> request -> size -> {p50, p95}
    memory: dict = field(default_factory=dict)     # runtime -> {peak_rss_mib, linear_mib}
    env_build: dict = field(default_factory=dict)  # {cold, warm}
    pytest: dict = field(default_factory=dict)


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


def _tree_peak_rss_mib(pid: int) -> float:
    """Peak RSS (VmHWM) of a process and its descendants, from /proc."""
    total = 0
    pids = [pid]
    while pids:
        current = pids.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(next(l for l in status.splitlines() if l.startswith("VmHWM")).split()[1])
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pids.extend(int(c) for c in children)
        except (OSError, StopIteration, ValueError):
            continue
    return total / 1024


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
        memory = {"peak_rss_mib": _tree_peak_rss_mib(client._server.pid) if getattr(client, "_server", None) else None}
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


def _cold_cache_dir() -> Path:
    """A cache with everything but the compiled runtime, so the first start pays the compile."""
    from wasi_lsp.cache import cache_root

    cold = Path(tempfile.mkdtemp(prefix="wasi-lsp-bench-cold-"))
    for kind in ("envs", "guest", "runtimes", "wheels"):
        if (cache_root() / kind).is_dir():
            subprocess.run(["cp", "-al", str(cache_root() / kind), str(cold / kind)], check=False)
    return cold


def bench_env_build() -> dict:
    from wasi_lsp.overlay import guest_requirements

    reqs = guest_requirements("rstls")
    cold = Path(tempfile.mkdtemp(prefix="wasi-lsp-bench-env-"))
    try:
        args = [sys.executable, "-m", "wasi_lsp", "env", "build", "--no-project", *reqs]
        env = dict(os.environ, WASI_LSP_CACHE_DIR=str(cold))
        t0 = time.perf_counter()
        subprocess.run(args, env=env, check=True, capture_output=True)
        cold_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        subprocess.run(args, env=env, check=True, capture_output=True)
        warm_s = time.perf_counter() - t0
    finally:
        shutil.rmtree(cold, ignore_errors=True)
    return {"cold": cold_s, "warm": warm_s, "requirements": reqs}


def run(options) -> int:
    return asyncio.run(_main(options))


async def _main(options) -> int:
    from rich.console import Console

    console = Console(stderr=True)
    skip = set(filter(None, options.skip.split(",")))
    sizes = [int(s) for s in options.sizes.split(",")]
    runtimes = [Runtime("native", None)] + [Runtime(f"wasi-{h}", h) for h in options.hosts.split(",") if h]
    results = Results(machine=_machine(), date=time.strftime("%Y-%m-%d"))
    workspace = Path(tempfile.mkdtemp(prefix="wasi-lsp-bench-ws-"))
    try:
        servers = [s for s in options.servers.split(",") if s]
        for rt in runtimes:  # warm every cache first: environments, overlays, compiled runtimes
            for server in servers:
                await measure_start(rt.command(server, workspace), workspace)
        if "start" not in skip:
            for server in servers:
                results.start[server] = {}
                for rt in runtimes:
                    console.log(f"cold start: {server} on {rt.label}")
                    cold = None
                    if rt.host is not None:
                        cold_dir = _cold_cache_dir()
                        os.environ["WASI_LSP_CACHE_DIR"], saved = str(cold_dir), os.environ.get("WASI_LSP_CACHE_DIR")
                        try:
                            cold = await measure_start(rt.command(server, workspace), workspace)
                        finally:
                            _restore("WASI_LSP_CACHE_DIR", saved)
                            shutil.rmtree(cold_dir, ignore_errors=True)
                    samples = [await measure_start(rt.command(server, workspace), workspace)
                               for _ in range(max(10, options.runs))]
                    results.start[server][rt.label] = {
                        "median": statistics.median(samples),
                        "spread": statistics.pstdev(samples),
                        "min": min(samples), "max": max(samples),
                        "cold": cold,
                    }
        if "latency" not in skip:
            for rt in runtimes:
                console.log(f"latency: rstls on {rt.label}")
                results.latency[rt.label], results.memory[rt.label] = await measure_latency(
                    rt.command("rstls", workspace), workspace, sizes, options.requests)
        if "env" not in skip:
            console.log("environment build: cold and warm")
            results.env_build = bench_env_build()
        if "pytest" not in skip:
            results.pytest = bench_pytest(console)
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
    print_tables(results, runtimes)
    if options.json_out:
        Path(options.json_out).write_text(json.dumps(asdict(results), indent=2))
    if options.plot:
        plot(results, runtimes, Path(options.plot))
    return 0


def bench_pytest(console) -> dict:
    """A sample suite under ``wasi-lsp pytest`` vs native pytest (when that command exists)."""
    from wasi_lsp import cli

    if "wasi_lsp.wasi_pytest" not in cli.COMMAND_MODULES:
        return {}
    project = Path(__file__).resolve().parents[2] / "tests" / "projects" / "bench_suite"
    if not project.is_dir():
        return {}
    console.log("pytest: sample suite native vs WASI")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(project)],
                   capture_output=True, cwd=project)
    native = time.perf_counter() - t0
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "wasi_lsp", "pytest", str(project), "--", "-q"], capture_output=True)
    wasi = time.perf_counter() - t0
    return {"native": native, "wasi-wasmtime": wasi, "suite": project.name}


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

    console = Console()
    console.print(f"[bold]wasi-lsp bench[/] — {results.machine}, {results.date}")
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
        table = Table(title="Peak RSS of the server process tree (after the latency run)")
        table.add_column("runtime")
        table.add_column("peak RSS")
        table.add_column("ratio")
        base = results.memory.get("native", {}).get("peak_rss_mib")
        for label, mem in results.memory.items():
            table.add_row(label, f"{mem['peak_rss_mib']:.0f} MiB" if mem["peak_rss_mib"] else "-",
                          _ratio(mem["peak_rss_mib"], base))
        console.print(table)
    if results.env_build:
        console.print(f"Environment build for rstls ({len(results.env_build['requirements'])} requirements): "
                      f"cold {results.env_build['cold']:.1f} s, warm {results.env_build['warm']:.2f} s")
    if results.pytest:
        console.print(f"pytest suite {results.pytest['suite']}: native {results.pytest['native']:.2f} s, "
                      f"WASI {results.pytest['wasi-wasmtime']:.2f} s "
                      f"({_ratio(results.pytest['wasi-wasmtime'], results.pytest['native'])})")


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
