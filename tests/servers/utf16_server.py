"""Positions in UTF-16 code units, over text with characters outside the BMP."""

import re

from lsprotocol import types
from pygls.lsp.server import LanguageServer

server = LanguageServer("corpus-utf16", "v1")
WORD = re.compile(r"\w+")


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: LanguageServer, params: types.DidOpenTextDocumentParams):
    """A diagnostic on each ``bad`` word, with ranges converted to the client's encoding."""
    document = ls.workspace.get_text_document(params.text_document.uri)
    diagnostics = []
    for n, line in enumerate(document.lines):
        for match in re.finditer(r"bad", line):
            start = document.position_codec.position_to_client_units(document.lines, types.Position(n, match.start()))
            end = document.position_codec.position_to_client_units(document.lines, types.Position(n, match.end()))
            diagnostics.append(types.Diagnostic(range=types.Range(start, end), message="bad word"))
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=document.uri, diagnostics=diagnostics))


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls: LanguageServer, params: types.HoverParams):
    """The word under the cursor, found through the client's UTF-16 position."""
    document = ls.workspace.get_text_document(params.text_document.uri)
    word = document.word_at_position(params.position, re_start_word=re.compile(r"\w*$"), re_end_word=re.compile(r"^\w*"))
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.PlainText, value=word))


if __name__ == "__main__":
    server.start_io()
