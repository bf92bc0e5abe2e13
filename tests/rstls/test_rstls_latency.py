"""Work proportional to the edit: didChange -> publishDiagnostics and completion stay fast up to 10,000 lines.

Latencies are printed (run with ``-s``) and recorded as test properties; the
bounds are loose because the machine is shared, but a re-parse of the whole
document on every keystroke (seconds at 10,000 lines) would exceed them.
"""

from __future__ import annotations

import time

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from bigdoc import big_document
from rstls_helpers import REQUIREMENTS, SAMPLE, TIMEOUT, diagnostics_after, initialize, open_doc, summary
from wasi_lsp.pytest_plugin import matrix

pytestmark = pytest.mark.asyncio(loop_scope="module")
#: Upper bounds in seconds for one edit's diagnostics and for one completion, at 10,000 lines.
EDIT_BOUND = {"native": 1.0, "wasi": 5.0}
COMPLETION_BOUND = {"native": 0.5, "wasi": 3.0}


@pytest_lsp.fixture(config=matrix("rstls", requirements=REQUIREMENTS, dirs=[SAMPLE], timeout=TIMEOUT), scope="module")
async def client(lsp_client: LanguageClient):
    await initialize(lsp_client, SAMPLE)
    yield
    await lsp_client.shutdown_session()


@pytest.mark.parametrize("size", [100, 1000, 10000])
async def test_edit_and_completion_latency(client: LanguageClient, size: int, record_property):
    path = SAMPLE / f"unsaved-big-{size}.rst"  # opened only, never written
    text = big_document(size)
    started = time.perf_counter()
    assert await open_doc(client, path, text) == []
    opened = time.perf_counter() - started

    middle = len(text.splitlines()) // 2
    started = time.perf_counter()
    got = await diagnostics_after(client, path.as_uri(), lambda: client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=path.as_uri(), version=2),
            content_changes=[types.TextDocumentContentChangePartial(
                range=types.Range(start=types.Position(line=middle, character=0),
                                  end=types.Position(line=middle, character=0)),
                text=".. nosuchdirective::\n\n")])))
    edited = time.perf_counter() - started
    assert summary(got) == [(middle, 3, 18, 'Unknown directive type "nosuchdirective".')]

    started = time.perf_counter()
    result = await client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=path.as_uri()),
        position=types.Position(line=middle, character=3)))
    completed = time.perf_counter() - started
    assert "note" in [item.label for item in result.items]

    runtime = "native" if client.label == "native" else "wasi"
    print(f"\n[{client.label}] {size:>6} lines: open {opened:.3f}s, didChange->diagnostics {edited:.3f}s, "
          f"completion {completed:.3f}s")
    for name, value in (("open", opened), ("edit", edited), ("completion", completed)):
        record_property(f"{name}_{size}", round(value, 4))
    if size == 10000:
        assert edited < EDIT_BOUND[runtime] and completed < COMPLETION_BOUND[runtime]
