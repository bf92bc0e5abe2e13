"""Shared pieces of the rstls end-to-end suite: the sample project, sessions, waiting for diagnostics."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities

from wasi_lsp.overlay import GUEST_REQUIREMENTS

SAMPLE = Path(__file__).resolve().parent.parent / "sample-docs"
REQUIREMENTS = GUEST_REQUIREMENTS["rstls"]
#: Sphinx loads and builds inside ``initialized``; in WASI that takes a while on a shared machine.
TIMEOUT = 180


async def initialize(client: LanguageClient, root: Path) -> types.InitializeResult:
    """Open a session rooted at ``root`` as VS Code would."""
    return await client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        root_uri=root.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
    ))


def copy_sample(tmp_path: Path) -> Path:
    """A writable copy of the sample project, for tests that save or break files."""
    root = tmp_path / "docs"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


async def diagnostics_after(client: LanguageClient, uri: str, send) -> list[types.Diagnostic]:
    """Send a notification (``send()``) and return the next diagnostics published for ``uri``."""
    before = client.diagnostics.get(uri)
    send()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    # Each publishDiagnostics stores a new list object, so identity tells a new publication apart.
    while client.diagnostics.get(uri) is before:
        if loop.time() > deadline:
            raise TimeoutError(f"no diagnostics published for {uri} within {TIMEOUT}s")
        await asyncio.sleep(0.01)
    return list(client.diagnostics[uri])


async def open_doc(client: LanguageClient, path: Path, text: str | None = None) -> list[types.Diagnostic]:
    """Open a document and return its first diagnostics."""
    uri = path.as_uri()
    text = path.read_text() if text is None else text
    return await diagnostics_after(client, uri, lambda: client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=uri, language_id="restructuredtext", version=1, text=text))))


def summary(diagnostics) -> list[tuple[int, int, int, str]]:
    """(line, start, end, message) of each diagnostic: what the tests compare."""
    return sorted((d.range.start.line, d.range.start.character, d.range.end.character, d.message) for d in diagnostics)
