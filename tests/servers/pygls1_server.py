"""A pygls 1.x server, written against the 1.x API (``pygls.server.LanguageServer``)."""

import asyncio

import pygls
from lsprotocol import types
from pygls.server import LanguageServer

server = LanguageServer("corpus-pygls1", "v1")


@server.feature(types.TEXT_DOCUMENT_COMPLETION)
def completion(ls: LanguageServer, params: types.CompletionParams):
    return types.CompletionList(is_incomplete=False, items=[types.CompletionItem(label="one"), types.CompletionItem(label="two")])


@server.feature(types.TEXT_DOCUMENT_HOVER)
async def hover(ls: LanguageServer, params: types.HoverParams):
    await asyncio.sleep(0.01)
    return types.Hover(contents=f"line {params.position.line}")


@server.thread()
@server.command("corpus.version")
def version(ls: LanguageServer, *args):
    from importlib.metadata import version

    return version("pygls")


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: LanguageServer, params: types.DidOpenTextDocumentParams):
    ls.publish_diagnostics(params.text_document.uri, [
        types.Diagnostic(range=types.Range(types.Position(0, 0), types.Position(0, 1)), message="from pygls 1")
    ])


if __name__ == "__main__":
    server.start_io()
