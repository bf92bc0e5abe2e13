"""The results of one bench run: tables (every figure beside native's, as a ratio) and a plot."""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass, field
from pathlib import Path

from wasi_lsp.bench.targets import Target


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

def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
        cpu = model
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"

def _ratio(value: float | None, base: float | None) -> str:
    if value is None or not base:
        return "-"
    return f"{value / base:.2f}×"

def print_tables(results: Results, runtimes: list[Target]) -> None:
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
        _print_per_runtime(console, f"pytest on the sample suite {results.pytest['suite']}: wall time, warm env",
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

def plot(results: Results, runtimes: list[Target], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    requests = list(results.latency.get("native", {}))
    fig, axes = plt.subplots(1, len(requests), figsize=(4 * len(requests), 3.6), squeeze=False)
    for ax, request in zip(axes[0], requests, strict=False):
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
