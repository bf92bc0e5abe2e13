"""Garbage documents for rstls inside WASI: each gets diagnostics, none an exception, and the server goes on.

Binary bytes, a 1 MB line and deep nesting are what an editor sends when a
user opens the wrong file; docutils' recursion and regexes are where a
server would die, so they are fed as-is.
"""

from __future__ import annotations

import asyncio

from lsprotocol import types

from rawpeer import serve_command
from wasi_lsp.overlay import GUEST_REQUIREMENTS
from wasi_lsp.matrix_client import make_client

GARBAGE = {
    "binary.rst": bytes(range(256)).decode("latin-1") * 64,
    "long-line.rst": "Title\n=====\n\n" + "word *emphasis* " * 65_536 + "*unclosed\n",
    "nested-lists.rst": "".join("  " * depth + "- item\n\n" for depth in range(200)),
    "nested-quotes.rst": "".join("    " * depth + f"quote {depth}\n\n" for depth in range(200)),
    "nested-mixed.rst": "".join("   " * depth + ("- " if depth % 2 else "#. ") + ".. note::\n\n" for depth in range(150)),
}


async def diagnostics_for(client, uri: str) -> list:
    while True:
        params = await client.wait_for_notification("textDocument/publishDiagnostics")
        if params.uri == uri:
            return params.diagnostics


async def test_garbage_documents_get_diagnostics_not_exceptions(tmp_path):
    client = make_client("wasi-wasmtime", timeout=240)
    await client.start_io(*serve_command("rstls", requirements=GUEST_REQUIREMENTS["rstls"], dirs=(tmp_path,)))
    try:
        await client.initialize_session(types.InitializeParams(
            capabilities=types.ClientCapabilities(), root_uri=tmp_path.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=tmp_path.as_uri(), name="garbage")]))
        for name, text in GARBAGE.items():
            uri = (tmp_path / name).as_uri()
            waiting = asyncio.ensure_future(diagnostics_for(client, uri))
            client.text_document_did_open(types.DidOpenTextDocumentParams(
                types.TextDocumentItem(uri=uri, language_id="restructuredtext", version=1, text=text)))
            diagnostics = await waiting
            print(f"\n{name}: {len(text)} chars, {len(diagnostics)} diagnostics")
            assert all(isinstance(d, types.Diagnostic) for d in diagnostics)
            symbols = await client.text_document_document_symbol_async(
                types.DocumentSymbolParams(types.TextDocumentIdentifier(uri=uri)))
            assert symbols is None or isinstance(symbols, list)
        assert not [line for line in client.stderr_lines if "Traceback" in line], "\n".join(client.stderr_lines[-60:])
        assert client.returncode is None
        await asyncio.wait_for(client.shutdown_session(), 60)
    finally:
        await asyncio.wait_for(client.stop(), 30)
