"""Notifications: diagnostics follow document changes; messages and progress reach the client."""

import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsp_helpers import PYGLS2, SERVERS, initialize
from wasi_lsp.pytest_plugin import matrix

URI = "file:///corpus/notes.txt"


@pytest_lsp.fixture(config=matrix("notify_server:server", requirements=PYGLS2, dirs=[SERVERS]))
async def client(lsp_client: LanguageClient):
    await initialize(lsp_client)
    yield
    await lsp_client.shutdown_session()


async def test_diagnostics_follow_open_change_close(client: LanguageClient):
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=URI, language_id="plaintext", version=1, text="ok\n  TODO one\nTODO two\n")))
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert [(d.range.start.line, d.range.start.character) for d in client.diagnostics[URI]] == [(1, 2), (2, 0)]

    client.text_document_did_change(types.DidChangeTextDocumentParams(
        types.VersionedTextDocumentIdentifier(uri=URI, version=2),
        [types.TextDocumentContentChangeWholeDocument(text="fixed\n")]))
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert list(client.diagnostics[URI]) == []

    client.text_document_did_change(types.DidChangeTextDocumentParams(
        types.VersionedTextDocumentIdentifier(uri=URI, version=3),
        [types.TextDocumentContentChangePartial(range=types.Range(types.Position(0, 0), types.Position(0, 5)), text="TODO")]))
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert [d.message for d in client.diagnostics[URI]] == ["TODO found"]

    client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri=URI)))
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert list(client.diagnostics[URI]) == []


async def test_show_and_log_message(client: LanguageClient):
    result = await client.workspace_execute_command_async(types.ExecuteCommandParams(command="corpus.messages"))
    assert result == "sent"
    assert [(m.type, m.message) for m in client.messages] == [(types.MessageType.Warning, "shown to the user")]
    assert (types.MessageType.Log, "written to the log") in [(m.type, m.message) for m in client.log_messages]


async def test_work_done_progress(client: LanguageClient):
    token = await client.workspace_execute_command_async(types.ExecuteCommandParams(command="corpus.progress"))
    reports = client.progress_reports[token]
    assert [type(r).__name__ for r in reports] == ["WorkDoneProgressBegin"] + ["WorkDoneProgressReport"] * 3 + ["WorkDoneProgressEnd"]
    assert [r.percentage for r in reports[1:4]] == [25, 50, 75]
    assert reports[-1].message == "done"
