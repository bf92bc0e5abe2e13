"""Large messages both ways: the client sends megabytes in, the server sends megabytes out."""

import hashlib

from lsprotocol import types
from pygls.lsp.server import LanguageServer

server = LanguageServer("corpus-big", "v1")


@server.command("corpus.digest")
def digest(ls: LanguageServer, text: str):
    """Length and sha256 of what arrived, so the client can check nothing was lost or mangled."""
    data = text.encode("utf-8")
    return {"chars": len(text), "sha256": hashlib.sha256(data).hexdigest()}


@server.command("corpus.make")
def make(ls: LanguageServer, size: int, seed: str):
    """A deterministic string of ``size`` characters (non-ASCII included)."""
    unit = f"{seed}-é€𝄞-"
    return (unit * (size // len(unit) + 1))[:size]


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: LanguageServer, params: types.DidOpenTextDocumentParams):
    """Echo the size of an opened document through a notification."""
    document = ls.workspace.get_text_document(params.text_document.uri)
    ls.window_log_message(types.LogMessageParams(types.MessageType.Info, f"opened {len(document.source)} chars"))


if __name__ == "__main__":
    server.start_io()
