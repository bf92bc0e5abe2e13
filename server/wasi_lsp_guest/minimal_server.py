"""The smallest useful pygls server: one completion, one hover.

It is the benchmark's baseline workload (pygls itself, nothing else) and a
template for server authors. Runs unchanged natively and inside WASI.
"""

from lsprotocol import types
from pygls.lsp.server import LanguageServer

server = LanguageServer("minimal-server", "v0.1")


@server.feature(types.TEXT_DOCUMENT_COMPLETION)
def completion(params: types.CompletionParams) -> list[types.CompletionItem]:
    return [types.CompletionItem(label="hello"), types.CompletionItem(label="world")]


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(params: types.HoverParams) -> types.Hover:
    return types.Hover(contents=f"line {params.position.line}")


if __name__ == "__main__":
    server.start_io()
