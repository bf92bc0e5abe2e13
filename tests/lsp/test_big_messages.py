"""Messages of 5 MB and more cross the stdio pipe intact, in both directions."""

import hashlib

import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsp_helpers import PYGLS2, SERVERS, initialize
from wasi_lsp.pytest_plugin import matrix

SIZE = 5 * 1024 * 1024 + 17


@pytest_lsp.fixture(config=matrix("big_server:server", requirements=PYGLS2, dirs=[SERVERS], timeout=120))
async def client(lsp_client: LanguageClient):
    await initialize(lsp_client)
    yield
    await lsp_client.shutdown_session()


def text(size: int) -> str:
    unit = "client-é€𝄞-"
    return (unit * (size // len(unit) + 1))[:size]


async def test_client_to_server(client: LanguageClient):
    payload = text(SIZE)
    result = await client.workspace_execute_command_async(types.ExecuteCommandParams(command="corpus.digest", arguments=[payload]))
    assert result == {"chars": SIZE, "sha256": hashlib.sha256(payload.encode()).hexdigest()}


async def test_server_to_client(client: LanguageClient):
    result = await client.workspace_execute_command_async(types.ExecuteCommandParams(command="corpus.make", arguments=[SIZE, "server"]))
    unit = "server-é€𝄞-"
    assert len(result) == SIZE
    assert result == (unit * (SIZE // len(unit) + 1))[:SIZE]


async def test_big_document_notification(client: LanguageClient):
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri="file:///big.txt", language_id="plaintext", version=1, text=text(SIZE))))
    params = await client.wait_for_notification(types.WINDOW_LOG_MESSAGE)
    assert params.message == f"opened {SIZE} chars"
