"""Document and workspace symbols, document links, folding ranges, and the ``rstls.preview`` command."""

from __future__ import annotations

import os

from lsprotocol import types
from pygls import uris

from rstls.base import RstLanguageServer, document_of, location, lsp_range
from rstls.outline import FILE_DIRECTIVES

PREVIEW = "rstls.preview"


def register(server: RstLanguageServer) -> None:
    server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)(document_symbols)
    server.feature(types.WORKSPACE_SYMBOL)(workspace_symbols)
    server.feature(types.TEXT_DOCUMENT_DOCUMENT_LINK)(document_links)
    server.feature(types.TEXT_DOCUMENT_FOLDING_RANGE)(folding_ranges)
    server.command(PREVIEW)(preview)


def document_symbols(ls: RstLanguageServer, params: types.DocumentSymbolParams) -> list[types.DocumentSymbol]:
    _path_, lines, outline = document_of(ls, params.text_document.uri)
    roots: list[types.DocumentSymbol] = []
    stack: list[tuple[int, list[types.DocumentSymbol]]] = []  # (level, children) of each open section
    for section in outline.sections:
        children: list[types.DocumentSymbol] = []
        symbol = types.DocumentSymbol(
            name=section.title, kind=types.SymbolKind.String,
            range=types.Range(types.Position(section.start, 0), types.Position(section.end, len(lines[section.end]))),
            selection_range=lsp_range(section.line, 0, len(section.title)), children=children)
        while stack and stack[-1][0] >= section.level:
            stack.pop()
        (stack[-1][1] if stack else roots).append(symbol)
        stack.append((section.level, children))
    return roots


def workspace_symbols(ls: RstLanguageServer, params: types.WorkspaceSymbolParams) -> list[types.SymbolInformation]:
    query = params.query.lower()
    symbols = []
    for path, outline in ls.ensure_index().outlines():
        for section in outline.sections:
            if query in section.title.lower():
                symbols.append(types.SymbolInformation(name=section.title, kind=types.SymbolKind.String,
                                                       location=location(path, section.line, 0, len(section.title))))
        for label in outline.labels:
            if label.uri is None and query in label.name:
                symbols.append(types.SymbolInformation(name=label.name, kind=types.SymbolKind.Key,
                                                       location=location(path, label.line, label.start, label.end)))
    return symbols


def document_links(ls: RstLanguageServer, params: types.DocumentLinkParams) -> list[types.DocumentLink]:
    path, _lines, outline = document_of(ls, params.text_document.uri)
    index = ls.ensure_index()
    links = []
    for directive in outline.directives:
        if directive.name in FILE_DIRECTIVES and directive.argument:
            target = index.resolve_file(directive.argument, path)
            links.append(types.DocumentLink(
                range=lsp_range(directive.line, directive.arg_start, directive.arg_start + len(directive.argument)),
                target=uris.from_fs_path(target), tooltip=os.path.relpath(target, index.srcdir)))
    return links


def folding_ranges(ls: RstLanguageServer, params: types.FoldingRangeParams) -> list[types.FoldingRange]:
    _path_, _lines, outline = document_of(ls, params.text_document.uri)
    ranges = [types.FoldingRange(start_line=s.line, end_line=s.end, kind=types.FoldingRangeKind.Region)
              for s in outline.sections if s.end > s.line]
    ranges += [types.FoldingRange(start_line=d.line, end_line=d.end, kind=types.FoldingRangeKind.Region)
               for d in outline.directives if d.end > d.line]
    return sorted(ranges, key=lambda r: (r.start_line, r.end_line))


def preview(ls: RstLanguageServer, *args) -> dict:
    """HTML for a document, returned to the client: WASI can open no HTTP server, an editor can show this."""
    from rstls.preview import render

    uri = args[0] if args else None
    if isinstance(uri, dict):
        uri = uri.get("uri")
    if not isinstance(uri, str):
        raise ValueError(f"{PREVIEW} takes the document's URI as its argument, got {args!r}")
    path, lines, _outline = document_of(ls, uri)
    project = ls.sphinx
    known = (project.directives, project.roles) if project is not None else ((), ())
    return {"uri": uri, "html": render("\n".join(lines) + "\n", path, *known)}
