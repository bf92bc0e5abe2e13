"""rstls on writable copies of the sample: edits, saves and Sphinx rebuilds, a broken conf.py.

Each test starts its own server on its own copy, since these tests change files.
"""

from __future__ import annotations

import asyncio

import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from rstls_helpers import REQUIREMENTS, SAMPLE, TIMEOUT, copy_sample, diagnostics_after, initialize, open_doc, summary
from wasi_lsp.pytest_plugin import matrix


@pytest_lsp.fixture(config=matrix("rstls", requirements=REQUIREMENTS, dirs=[SAMPLE], timeout=TIMEOUT))
async def client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


def change(client: LanguageClient, path, version: int, line: int, text: str):
    """Replace one whole line, as an editor's incremental sync does."""
    return lambda: client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=path.as_uri(), version=version),
        content_changes=[types.TextDocumentContentChangePartial(
            range=types.Range(start=types.Position(line=line, character=0), end=types.Position(line=line + 1, character=0)),
            text=text)]))


def save(client: LanguageClient, path):
    return lambda: client.text_document_did_save(types.DidSaveTextDocumentParams(
        text_document=types.TextDocumentIdentifier(uri=path.as_uri())))


async def test_edits_are_diagnosed_live_and_saves_rebuild_sphinx(client: LanguageClient, tmp_path):
    root = copy_sample(tmp_path)
    index, guide = root / "index.rst", root / "guide.rst"
    await initialize(client, root)
    assert await open_doc(client, index) == []
    await open_doc(client, guide)

    # An edit gets docutils diagnostics at once, before any save.
    got = await diagnostics_after(client, index.as_uri(), change(client, index, 2, 16, ".. nosuchthing::\n"))
    assert summary(got) == [(16, 3, 14, 'Unknown directive type "nosuchthing".')]
    got = await diagnostics_after(client, index.as_uri(), change(client, index, 3, 16, "\n"))
    assert got == []
    # A problem inside an included file shows on the include directive, naming the file and line.
    (root / "bad.txt").write_text("Fine text.\n\n.. nosuchthing::\n")
    got = await diagnostics_after(client, index.as_uri(), change(client, index, 4, 17, ".. include:: bad.txt\n"))
    assert summary(got) == [(17, 0, 20, 'Unknown directive type "nosuchthing". (in bad.txt, line 3)')]
    got = await diagnostics_after(client, index.as_uri(), change(client, index, 5, 17, ".. include:: snippet.txt\n"))
    assert got == []

    # Removing guide.rst's "install" label and saving: Sphinx rebuilds, index.rst's :ref:`install` dangles.
    text = guide.read_text().replace(".. _install:\n", "\n")
    guide.write_text(text)
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=guide.as_uri(), version=2),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))
    got = await diagnostics_after(client, index.as_uri(), save(client, guide))
    assert summary(got) == [(6, 10, 17, "undefined label: 'install' [ref.ref]")]
    # Incremental: the first build read every document, the rebuild only the saved one.
    reads = [m.message for m in client.log_messages if m.message.startswith("Sphinx re-read")]
    assert reads == ["Sphinx re-read: errors, guide, index", "Sphinx re-read: guide"]

    # Putting it back and saving clears the warning again.
    guide.write_text((SAMPLE / "guide.rst").read_text())
    got = await diagnostics_after(client, index.as_uri(), save(client, guide))
    assert got == []


async def test_fixing_a_problem_clears_it_at_the_edit_and_sphinx_warnings_stay(client: LanguageClient, tmp_path):
    # Sphinx repeats docutils' messages from the saved file; once the editor's text differs,
    # those copies are stale and must not keep a fixed problem alive until the save.
    root = copy_sample(tmp_path)
    errors = root / "errors.rst"
    await initialize(client, root)
    before = summary(await open_doc(client, errors))
    assert (3, 3, 19, 'Unknown directive type "unknowndirective".') in before
    assert (24, 13, 20, "undefined label: 'nolabel' [ref.ref]") in before
    change(client, errors, 2, 3, ".. note:: oops\n")()  # no save follows: Sphinx does not rebuild
    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while any("unknowndirective" in d[3] for d in summary(client.diagnostics.get(errors.as_uri(), []))):
        assert asyncio.get_running_loop().time() < deadline, "the fixed directive's problem stayed"
        await asyncio.sleep(0.05)
    assert summary(client.diagnostics[errors.as_uri()]) == [d for d in before if "unknowndirective" not in d[3]]


async def test_broken_conf_py_is_a_diagnostic_and_docutils_features_keep_working(client: LanguageClient, tmp_path):
    root = copy_sample(tmp_path)
    conf = root / "conf.py"
    conf.write_text(conf.read_text() + '\nraise RuntimeError("conf.py is broken on purpose")\n')
    broken_line = len(conf.read_text().splitlines()) - 1
    await initialize(client, root)

    got = await open_doc(client, root / "errors.rst")
    assert (3, 3, 19, 'Unknown directive type "unknowndirective".') in summary(got)
    assert client.diagnostics[conf.as_uri()][0].range.start.line == broken_line
    assert "conf.py is broken on purpose" in client.diagnostics[conf.as_uri()][0].message
    # Sphinx's own roles (:ref:) are still known without the project's conf.py; the extension's are not.
    messages = [d.message for d in await open_doc(client, root / "guide.rst")]
    assert messages == ['Unknown directive type "mynote".']
    result = await client.text_document_definition_async(types.DefinitionParams(
        text_document=types.TextDocumentIdentifier(uri=(root / "index.rst").as_uri()),
        position=types.Position(line=6, character=12)))
    assert [(loc.uri, loc.range.start.line) for loc in result] == [((root / "guide.rst").as_uri(), 5)]


async def test_an_untitled_buffer_is_declined_and_the_project_keeps_its_diagnostics(client: LanguageClient, tmp_path):
    """Editors can send unsaved buffers as ``untitled:`` documents, which rstls (it reads files) declines:
    every file's diagnostics keep being published (one such buffer open used to stop them all)."""
    root = copy_sample(tmp_path)
    errors, guide = root / "errors.rst", root / "guide.rst"
    await initialize(client, root)
    first = summary(await open_doc(client, errors))
    assert first
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
        uri="untitled:Untitled-1", language_id="restructuredtext", version=1, text="Draft\n=====\n")))
    # An answer comes after everything the notifications before it made the server send: no publication is late.
    await client.text_document_document_symbol_async(types.DocumentSymbolParams(
        text_document=types.TextDocumentIdentifier(uri=errors.as_uri())))

    # With Sphinx loaded a save re-publishes every open document (errors.rst: an unchanged [] is not told apart).
    got = await diagnostics_after(client, errors.as_uri(), save(client, guide))
    assert summary(got) == first
