"""rstls end to end on the sample project, read-only: one server per runtime for the whole module.

Every test speaks real LSP to a real server process, natively and inside
WASI, and expects exactly the same answers from both.
"""

from __future__ import annotations

import json

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from rstls_helpers import REQUIREMENTS, SAMPLE, TIMEOUT, initialize, open_doc, summary
from wasi_lsp.pytest_plugin import matrix

pytestmark = pytest.mark.asyncio(loop_scope="module")
INDEX, GUIDE, ERRORS = (SAMPLE / name for name in ("index.rst", "guide.rst", "errors.rst"))
#: What rstls must report for the sample's errors.rst, natively, in WASI and in the bundle.
EXPECTED_ERRORS = [tuple(d) for d in json.loads((SAMPLE / "errors.expected.json").read_text())["diagnostics"]]


@pytest_lsp.fixture(config=matrix("rstls", requirements=REQUIREMENTS, dirs=[SAMPLE], timeout=TIMEOUT), scope="module")
async def client(lsp_client: LanguageClient):
    await initialize(lsp_client, SAMPLE)
    for path in (INDEX, GUIDE, ERRORS):
        await open_doc(lsp_client, path)
    yield
    await lsp_client.shutdown_session()


def doc(path):
    return types.TextDocumentIdentifier(uri=path.as_uri())


def pos(line, character):
    return types.Position(line=line, character=character)


# --- Diagnostics ---------------------------------------------------------------------------------

async def test_deliberate_errors_are_diagnosed_with_precise_ranges(client: LanguageClient):
    got = summary(client.diagnostics[ERRORS.as_uri()])
    assert got == EXPECTED_ERRORS


async def test_clean_documents_have_no_diagnostics(client: LanguageClient):
    # index.rst uses rst_epilog's |project|, Sphinx's |version|, and guide.rst uses the conf.py extension.
    assert list(client.diagnostics[INDEX.as_uri()]) == []
    assert list(client.diagnostics[GUIDE.as_uri()]) == []


# --- Completion ----------------------------------------------------------------------------------

async def complete(client, path, line, character):
    result = await client.text_document_completion_async(types.CompletionParams(text_document=doc(path), position=pos(line, character)))
    return [item.label for item in result.items]


async def test_directive_completion_has_docutils_sphinx_and_extension_directives(client: LanguageClient):
    # errors.rst line 3 is ".. unknowndirective:: oops": complete right after ".. ".
    labels = await complete(client, ERRORS, 3, 3)
    assert {"note", "image", "toctree", "literalinclude", "py:function", "mynote"} <= set(labels)


async def test_option_completion_is_for_the_directive_at_the_cursor(client: LanguageClient):
    # guide.rst line 13 is "   :level: 2" inside ".. mynote::"; complete after "   :".
    assert await complete(client, GUIDE, 13, 4) == ["level", "title"]
    # index.rst line 20 is "   :alt: The logo" inside ".. image::".
    assert {"alt", "width", "target"} <= set(await complete(client, INDEX, 20, 4))


async def test_role_completion(client: LanguageClient):
    # index.rst line 6: "See :ref:`install` ..." -- complete just after "See :".
    labels = await complete(client, INDEX, 6, 5)
    assert {"ref", "doc", "emphasis", "issue", "py:func"} <= set(labels)


async def test_ref_target_completion_lists_labels_across_the_workspace(client: LanguageClient):
    # index.rst line 6, just after "See :ref:`".
    assert await complete(client, INDEX, 6, 10) == ["api", "dup", "guide", "home", "install", "usage"]


async def test_doc_target_completion_lists_documents(client: LanguageClient):
    # index.rst line 6: "... or read :doc:`guide`." -- after ":doc:`".
    line = INDEX.read_text().splitlines()[6]
    assert await complete(client, INDEX, 6, line.index(":doc:`") + 6) == ["/errors", "/guide", "/index"]


async def test_substitution_completion(client: LanguageClient):
    # index.rst line 5: "This is |project|, ..." -- after "|".
    labels = await complete(client, INDEX, 5, 9)
    assert {"project", "version", "release", "today"} <= set(labels)


# --- Hover ---------------------------------------------------------------------------------------

async def hover_text(client, path, line, character):
    result = await client.text_document_hover_async(types.HoverParams(text_document=doc(path), position=pos(line, character)))
    return result.contents.value if result else None


async def test_hover_on_directive_shows_its_documentation(client: LanguageClient):
    text = await hover_text(client, GUIDE, 12, 5)  # ".. mynote::"
    assert "A note with a level" in text and "`:level:`" in text


async def test_hover_on_role_shows_its_documentation(client: LanguageClient):
    text = await hover_text(client, GUIDE, 15, 14)  # "   Remember :issue:`42`." on "issue"
    assert "Link to an issue of the tracker" in text


async def test_hover_on_ref_target_shows_the_section(client: LanguageClient):
    text = await hover_text(client, INDEX, 6, 12)  # :ref:`install`
    assert text == "**Installation**\n\nLabel `install` in `guide.rst`, line 6."


# --- Navigation ----------------------------------------------------------------------------------

async def definition(client, path, line, character):
    result = await client.text_document_definition_async(types.DefinitionParams(text_document=doc(path), position=pos(line, character)))
    return [(loc.uri, loc.range.start.line) for loc in result or []]


async def test_definition_of_ref_is_the_label(client: LanguageClient):
    assert await definition(client, INDEX, 6, 12) == [(GUIDE.as_uri(), 5)]


async def test_definition_of_doc_is_the_file(client: LanguageClient):
    line = INDEX.read_text().splitlines()[6]
    assert await definition(client, INDEX, 6, line.index(":doc:`") + 7) == [(GUIDE.as_uri(), 0)]


async def test_definition_of_include_is_the_file(client: LanguageClient):
    assert await definition(client, INDEX, 17, 14) == [((SAMPLE / "snippet.txt").as_uri(), 0)]


async def test_definition_of_substitution_is_its_definition(client: LanguageClient):
    # Opened under a new name inside the sample: a substitution defined and used in one document.
    path = SAMPLE / "unsaved-subst.rst"
    text = "Use |name| here.\n\n.. |name| replace:: a name\n"
    await open_doc(client, path, text)
    assert await definition(client, path, 0, 6) == [(path.as_uri(), 2)]


async def test_references_of_a_label_across_the_workspace(client: LanguageClient):
    result = await client.text_document_references_async(types.ReferenceParams(
        text_document=doc(GUIDE), position=pos(5, 5),
        context=types.ReferenceContext(include_declaration=True)))  # ".. _install:"
    assert sorted((loc.uri, loc.range.start.line, loc.range.start.character) for loc in result) == [
        (GUIDE.as_uri(), 5, 4), (INDEX.as_uri(), 6, 10)]


async def test_rename_a_label_edits_definition_and_uses(client: LanguageClient):
    edit = await client.text_document_rename_async(types.RenameParams(text_document=doc(INDEX), position=pos(6, 12), new_name="setup"))
    assert {uri: sorted((e.range.start.line, e.range.start.character, e.range.end.character, e.new_text) for e in edits)
            for uri, edits in edit.changes.items()} == {
        GUIDE.as_uri(): [(5, 4, 11, "setup")],
        INDEX.as_uri(): [(6, 10, 17, "setup")],
    }


# --- Symbols and structure -----------------------------------------------------------------------

def tree(symbols):
    return [(s.name, s.range.start.line, tree(s.children or [])) for s in symbols]


async def test_document_symbols_are_the_section_tree(client: LanguageClient):
    result = await client.text_document_document_symbol_async(types.DocumentSymbolParams(text_document=doc(INDEX)))
    assert tree(result) == [("Welcome to Sample Docs", 2, [("Overview", 14, [("Details", 24, [])])])]


async def test_workspace_symbols_include_sections_and_labels(client: LanguageClient):
    result = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="usa"))
    assert sorted((s.name, s.location.uri) for s in result) == [
        ("Usage", GUIDE.as_uri()), ("usage", GUIDE.as_uri())]


async def test_document_links_for_include_image_literalinclude_figure(client: LanguageClient):
    links = []
    for path in (INDEX, GUIDE):
        result = await client.text_document_document_link_async(types.DocumentLinkParams(text_document=doc(path)))
        links += [(link.range.start.line, link.target) for link in result]
    assert links == [
        (17, (SAMPLE / "snippet.txt").as_uri()), (19, (SAMPLE / "_static/logo.png").as_uri()),
        (22, (SAMPLE / "example.py").as_uri()), (30, (SAMPLE / "_static/logo.png").as_uri()),
    ]


async def test_folding_ranges_cover_sections_and_directive_blocks(client: LanguageClient):
    result = await client.text_document_folding_range_async(types.FoldingRangeParams(text_document=doc(INDEX)))
    assert [(r.start_line, r.end_line) for r in result] == [(2, 27), (8, 12), (14, 27), (19, 20), (24, 27)]


# --- Preview -------------------------------------------------------------------------------------

async def test_preview_command_returns_html(client: LanguageClient):
    result = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="rstls.preview", arguments=[GUIDE.as_uri()]))
    assert result["uri"] == GUIDE.as_uri()
    assert "User Guide</h1>" in result["html"]
    html = result["html"]
    assert "Installation</h2>" in html
    # Sphinx's literalinclude and the extension's directive and role render as content, not errors.
    assert "def hello():" in html and "Remember" in html and "42" in html
    assert "system-message" not in html
