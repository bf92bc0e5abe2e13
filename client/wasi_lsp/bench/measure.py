"""The measurements: LSP start and latency driven by pygls' own client, the interpreter, env builds, pytest."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from wasi_lsp.bench.memory import tree_memory
from wasi_lsp.bench.targets import Target
from wasi_lsp.errors import WasiLspError


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
    with contextlib.suppress(Exception):
        await asyncio.wait_for(client.stop(), 10)

async def measure_start(command: list[str], workspace: Path) -> float:
    t0 = time.perf_counter()
    client, _, _ = await _session(command, workspace)
    elapsed = time.perf_counter() - t0
    await _close(client)
    return elapsed

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
                text_document=types.TextDocumentItem(
                    uri=uri, language_id="restructuredtext", version=version, text=text)))
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(waiter, 120)
            doc = types.TextDocumentIdentifier(uri=uri)
            mid = min(size // 2, text.count("\n") - 1)
            for name, probe in _probes(client, doc, text, mid).items():
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

def _probes(client, doc, text: str, mid: int) -> dict[str, Callable[[], Awaitable[object]]]:
    """The timed requests on one open document (a function, so each closure binds this document)."""
    from lsprotocol import types

    return {
        "completion": lambda: client.text_document_completion_async(types.CompletionParams(
            text_document=doc, position=types.Position(line=mid, character=0))),
        "hover": lambda: client.text_document_hover_async(types.HoverParams(
            text_document=doc, position=types.Position(line=_line_of(text, ".. note::", mid), character=4))),
        "documentSymbol": lambda: client.text_document_document_symbol_async(
            types.DocumentSymbolParams(text_document=doc)),
    }

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

def bench_interpreter(runtimes: list[Target], rounds: int = 3) -> dict:
    """Best of ``rounds`` per runtime, taken round-robin so a change in load hits every runtime alike."""
    commands = {rt.label: ([sys.executable, "-c", INTERPRETER_LOOP] if rt.host is None else
                           [*rt.wasi_lsp("run"), "--no-project", "--", "-c", INTERPRETER_LOOP])
                for rt in runtimes if not rt.snapshot}  # `run` never starts from a snapshot
    times: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(rounds):
        for label, args in commands.items():
            times[label].append(float(_checked(args).stdout.split()[-1]))
    return {label: min(samples) for label, samples in times.items()}

#: The sample suite, shipped as package data so an installed wasi-lsp can run it too.
BENCH_SUITE = Path(__file__).resolve().parent / "bench_suite"

def bench_pytest(console, runtimes: list[Target]) -> dict:
    """The sample suite under ``wasi-lsp pytest`` on each host vs native pytest."""
    if not BENCH_SUITE.is_dir():
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
