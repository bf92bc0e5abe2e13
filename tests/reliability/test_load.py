"""Load on a live server: a burst of incremental edits loses nothing, a soak neither grows nor slows.

The client is pytest-lsp's (no hand-made framing); the server keeps its
documents with pygls' own workspace, and ``faults/document`` reports its copy
as a length and a hash, so "nothing lost, order kept" is one comparison.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import statistics
import time
from pathlib import Path

import pytest
from lsprotocol import types

from rawpeer import serve_command
from sizes import BURST_CHANGES, SOAK_REQUESTS
from wasi_lsp.matrix_client import make_client

SERVER = "faults_server:server"
URI = "file:///load/burst.txt"


@pytest.fixture
async def client():
    client = make_client("wasi-wasmtime", timeout=120)
    await client.start_io(*serve_command(SERVER))
    await client.initialize_session(types.InitializeParams(capabilities=types.ClientCapabilities()))
    yield client
    await asyncio.wait_for(client.shutdown_session(), 60)
    await client.stop()


def position(text: str, offset: int) -> types.Position:
    line = text.count("\n", 0, offset)
    return types.Position(line=line, character=offset - (text.rfind("\n", 0, offset) + 1))


def edits(text: str, count: int, seed: int):
    """``count`` random insertions and deletions, each placed by the text the previous ones left."""
    rng = random.Random(seed)
    for i in range(count):
        start = rng.randrange(len(text) + 1)
        end = min(len(text), start + rng.choice((0, 0, 1, 3)))
        new = rng.choice((f"{i};", f"é{i}\n", ""))
        change = types.TextDocumentContentChangePartial(
            range=types.Range(start=position(text, start), end=position(text, end)), text=new)
        text = text[:start] + new + text[end:]
        yield change, text


async def state(client, uri: str = URI) -> dict:
    return await client.protocol.send_request_async("faults/document", {"uri": uri})


async def test_a_burst_of_incremental_edits_ends_in_the_right_document(client):
    text = "first line\nsecond line\n"
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=URI, language_id="plaintext", version=1, text=text)))
    started = time.monotonic()
    for version, (change, text) in enumerate(edits(text, BURST_CHANGES, seed=8), start=2):
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=URI, version=version), [change]))
    result = await state(client)
    print(f"\nburst: {BURST_CHANGES} didChange then one request in {time.monotonic() - started:.1f} s; "
          f"final document {result.length} chars")
    assert result.version == BURST_CHANGES + 1
    assert (result.length, result.sha256) == (len(text), hashlib.sha256(text.encode()).hexdigest())


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for process {pid}")


async def test_a_soak_of_mixed_requests_keeps_memory_flat_and_latency_steady(client):
    text = "soak\n"
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=URI, language_id="plaintext", version=1, text=text)))
    changes = edits(text, SOAK_REQUESTS, seed=20)
    rng = random.Random(20)
    latencies: list[float] = []
    tenth = max(SOAK_REQUESTS // 10, 1)
    rss = []
    version = 1
    for i in range(SOAK_REQUESTS):
        if i % tenth == 0 and i:
            rss.append(rss_kib(client._server.pid))
        kind = rng.random()
        started = time.monotonic()
        if kind < 0.4:
            payload = "x" * rng.choice((1, 100, 10_000))
            assert await client.protocol.send_request_async("faults/echo", {"value": payload}) == payload
        elif kind < 0.8:
            change, text = next(changes)
            version += 1
            client.text_document_did_change(types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(uri=URI, version=version), [change]))
            continue  # notifications have no latency to measure
        else:
            assert (await state(client)).version == version
        latencies.append(time.monotonic() - started)
    final = await state(client)
    rss.append(rss_kib(client._server.pid))
    cut = max(len(latencies) // 10, 1)
    early, late = statistics.median(latencies[:cut]), statistics.median(latencies[-cut:])
    growth = (rss[-1] - rss[0]) / 1024
    late_growth = (rss[-1] - rss[len(rss) // 2]) / 1024
    print(f"\nsoak: {SOAK_REQUESTS} mixed messages ({len(latencies)} requests); host RSS after the first 10% "
          f"{rss[0] / 1024:.1f} MiB, at the end {rss[-1] / 1024:.1f} MiB (growth {growth:+.1f} MiB, "
          f"{late_growth:+.1f} MiB in the second half; every 10%: {[round(r / 1024, 1) for r in rss]}); "
          f"p50 latency first 10% {early * 1000:.2f} ms, last 10% {late * 1000:.2f} ms")
    assert (final.length, final.sha256) == (len(text), hashlib.sha256(text.encode()).hexdigest())
    assert growth < 32, f"host RSS grew {growth:.1f} MiB over the soak"
    assert late_growth < 8, f"host RSS still grew {late_growth:.1f} MiB in the second half of the soak"
    assert late < early * 2 + 0.005, f"p50 latency drifted from {early * 1000:.2f} ms to {late * 1000:.2f} ms"


async def test_did_change_retains_nothing(client):
    """Found by the soak: pygls 2.1.1 files a Future per notification under a uuid it never pops (about
    1 KB per edit, forever, natively too); the adapter drops each once its handler is done."""
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=URI, language_id="plaintext", version=1, text="leak\n")))
    before = await client.protocol.send_request_async("faults/memory", {})
    for version, (change, _text) in enumerate(edits("leak\n", 1000, seed=1), start=2):
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=URI, version=version), [change]))
    after = await client.protocol.send_request_async("faults/memory", {})
    print(f"\n1000 didChange: +{after.objects - before.objects} live objects, "
          f"+{after.pending_futures - before.pending_futures} futures left in pygls' _request_futures")
    assert after.pending_futures - before.pending_futures < 10
    assert after.objects - before.objects < 1000
