"""UTF-16 positions over characters outside the BMP (each counts as two code units)."""

import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsp_helpers import PYGLS2, SERVERS, initialize
from wasi_lsp.pytest_plugin import matrix

URI = "file:///corpus/emoji.txt"
# 🐍 and 𝄞 are outside the BMP: two UTF-16 code units each, one Python character.
TEXT = "🐍🐍 bad\n𝄞x = bad + wörd\n"


@pytest_lsp.fixture(config=matrix("utf16_server:server", requirements=PYGLS2, dirs=[SERVERS]))
async def client(lsp_client: LanguageClient):
    result = await initialize(lsp_client)
    assert result.capabilities.position_encoding in (None, types.PositionEncodingKind.Utf16)
    lsp_client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=URI, language_id="plaintext", version=1, text=TEXT)))
    await lsp_client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    yield
    await lsp_client.shutdown_session()


async def test_diagnostic_ranges_count_utf16_units(client: LanguageClient):
    ranges = [(d.range.start.line, d.range.start.character, d.range.end.character) for d in client.diagnostics[URI]]
    assert ranges == [(0, 5, 8), (1, 6, 9)]


async def hover(client: LanguageClient, line: int, character: int) -> str:
    result = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=URI), position=types.Position(line, character)))
    return result.contents.value


async def test_hover_positions_count_utf16_units(client: LanguageClient):
    assert await hover(client, 0, 6) == "bad"
    assert await hover(client, 1, 2) == "x"
    assert await hover(client, 1, 15) == "wörd"
