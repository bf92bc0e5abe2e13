"""A third-party server, unmodified: jedi-language-server, which debounces diagnostics with threading.Timer.

It is installed into a guest environment from the registry and started by
``wasi-lsp serve jedi-language-server`` (its console script); natively, from
a ``pip --target`` directory.
"""

from pathlib import Path

import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsp_helpers import initialize
from wasi_lsp.pytest_plugin import matrix

JLS = "jedi-language-server==0.47.0"
SOURCE = "import os\n\n\ndef greet(name):\n    '''Say hello.'''\n    return os.path.join('hi', name)\n\n\ngreet('x')\nos.pa\n"


@pytest_lsp.fixture(config=matrix("jedi-language-server", requirements=[JLS], timeout=90))
async def client(lsp_client: LanguageClient, tmp_path: Path):
    # ASCII on purpose: pygls 2 keys open documents by an unquoted URI, and jedi-language-server
    # 0.47 looks them up by the client's (quoted) one, so it never lints a file whose path needs
    # escaping -- natively too. test_paths_and_uris covers such paths with our own server.
    root = tmp_path / "jedi-workspace"
    root.mkdir()
    (root / "mod.py").write_text(SOURCE, encoding="utf-8")
    lsp_client.uri = (root / "mod.py").as_uri()
    await initialize(lsp_client, root)
    lsp_client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=lsp_client.uri, language_id="python", version=1, text=SOURCE)))
    yield
    await lsp_client.shutdown_session()


def at(client, line: int, character: int) -> dict:
    return {"text_document": types.TextDocumentIdentifier(uri=client.uri), "position": types.Position(line, character)}


async def test_completion(client: LanguageClient):
    result = await client.text_document_completion_async(types.CompletionParams(**at(client, 9, 5)))
    items = result.items if isinstance(result, types.CompletionList) else result
    assert "path" in [item.label for item in items]


async def test_hover(client: LanguageClient):
    result = await client.text_document_hover_async(types.HoverParams(**at(client, 8, 2)))
    assert "Say hello." in result.contents.value


async def test_debounced_diagnostics_and_no_errors(client: LanguageClient):
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        types.VersionedTextDocumentIdentifier(uri=client.uri, version=2),
        [types.TextDocumentContentChangeWholeDocument(text=SOURCE + "def broken(:\n")]))
    while not client.diagnostics.get(client.uri):
        await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert any(d.range.start.line == 10 for d in client.diagnostics[client.uri])
    assert [m for m in client.messages if m.type == types.MessageType.Error] == []
    assert not [line for line in client.stderr_lines if "Traceback" in line or "Error" in line]
