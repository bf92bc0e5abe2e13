"""A pygls 1.x server: natively from a pip --target dir beside this pygls 2, in WASI from its guest env."""

import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsp_helpers import SERVERS, initialize
from wasi_lsp.pytest_plugin import matrix

URI = "file:///corpus/one.txt"


@pytest_lsp.fixture(config=matrix("pygls1_server:server", requirements=["pygls==1.3.1"], dirs=[SERVERS], timeout=60))
async def client(lsp_client: LanguageClient):
    await initialize(lsp_client)
    yield
    await lsp_client.shutdown_session()


async def test_it_really_is_pygls_1(client: LanguageClient):
    version = await client.workspace_execute_command_async(types.ExecuteCommandParams(command="corpus.version"))
    assert version == "1.3.1"


async def test_completion_hover_and_diagnostics(client: LanguageClient):
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=URI, language_id="plaintext", version=1, text="x\n")))
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert [d.message for d in client.diagnostics[URI]] == ["from pygls 1"]

    position = types.Position(line=0, character=0)
    completion = await client.text_document_completion_async(
        types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=URI), position=position))
    assert [item.label for item in completion.items] == ["one", "two"]
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=URI), position=position))
    assert hover.contents == "line 0"
