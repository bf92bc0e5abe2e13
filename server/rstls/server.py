"""The rstls language server: one ``@server.feature`` handler per LSP capability.

Handlers are synchronous on purpose: inside WASI pygls runs a synchronous
loop with no threads, and the same code then behaves identically natively.
The analysis lives in plain modules (outline, checker, workspace,
sphinx_mode, registry, preview); the handlers only translate to LSP types.
"""

from __future__ import annotations

import logging
import os
import re

from lsprotocol import types
from pygls import uris
from pygls.lsp.server import LanguageServer

from rstls import __version__
from rstls.checker import Problem, check
from rstls.outline import FILE_DIRECTIVES, ROLE, SUBSTITUTION_REF, Outline, normalize_name
from rstls.registry import describe, directive_class, directive_names, options, role_function, role_names
from rstls.workspace import DOC_ROLES, REF_ROLES, Workspace

logger = logging.getLogger("rstls")
PREVIEW = "rstls.preview"


class RstLanguageServer(LanguageServer):
    """Holds the workspace index and the Sphinx project next to pygls' state."""

    def __init__(self):
        super().__init__("rstls", __version__)
        self.index: Workspace | None = None
        self.sphinx = None
        self.published: set[str] = set()

    def ensure_index(self) -> Workspace:
        if self.index is None:
            root = self.workspace.root_path or os.getcwd()
            self.index = Workspace(root=_path(root), open_text=self._open_text)
        return self.index

    def _open_text(self, path: str):
        doc = self.workspace.text_documents.get(uris.from_fs_path(path))
        return None if doc is None else (doc.version, lambda: doc.source)

    def known(self):
        project = self.sphinx
        if project is None:
            return {}
        return {"known_directives": project.directives, "known_roles": project.roles,
                "known_substitutions": project.substitutions}


server = RstLanguageServer()


def _path(value):
    from pathlib import Path

    return Path(value).resolve()


def _range(line: int, start: int, end: int) -> types.Range:
    return types.Range(types.Position(line, start), types.Position(line, end))


def _location(path: str, line: int, start: int = 0, end: int = 0) -> types.Location:
    return types.Location(uri=uris.from_fs_path(path), range=_range(line, start, end))


def _document(ls: RstLanguageServer, uri: str) -> tuple[str, list[str], Outline]:
    path = uris.to_fs_path(uri)
    lines, outline = ls.ensure_index().document(path)
    return path, lines, outline


def _diagnostic(problem: Problem) -> types.Diagnostic:
    severity = types.DiagnosticSeverity.Error if problem.severity == "error" else types.DiagnosticSeverity.Warning
    return types.Diagnostic(range=_range(problem.line, problem.start, problem.end), message=problem.message,
                            severity=severity, source=problem.source)


_TYPE_TAG = re.compile(r"\s+\[[\w.-]+\]$")


def diagnostics_for(ls: RstLanguageServer, path: str) -> list[types.Diagnostic]:
    """docutils problems for the current text, plus Sphinx's from the last build (deduplicated)."""
    problems: list[Problem] = []
    if path.endswith(".rst"):
        lines, outline = ls.ensure_index().document(path)
        problems = check(lines, outline, path, **ls.known())
    seen = {(p.line, p.message) for p in problems}
    if ls.sphinx is not None:
        for warning in ls.sphinx.warnings().get(path, []):
            message = _TYPE_TAG.sub("", warning.message)
            if (warning.line, message) in seen:
                continue
            seen.add((warning.line, message))
            problems.append(_sphinx_problem(ls, path, warning))
    return [_diagnostic(p) for p in sorted(problems, key=lambda p: (p.line, p.start))]


_QUOTED = re.compile(r"""['"]([^'"]+)['"]""")


def _sphinx_problem(ls: RstLanguageServer, path: str, warning) -> Problem:
    """Sphinx names the paragraph's first line; narrow to the quoted name if it is on the following lines."""
    quoted = _QUOTED.search(warning.message)
    if quoted:
        lines, _outline = ls.ensure_index().document(path)
        for line in range(warning.line, min(warning.line + 20, len(lines))):
            column = lines[line].find(quoted.group(1))
            if column >= 0:
                return Problem(line, column, column + len(quoted.group(1)), warning.message, warning.severity, "sphinx")
    return Problem(warning.line, 0, 1000, warning.message, warning.severity, "sphinx")


def publish(ls: RstLanguageServer, path: str) -> None:
    uri = uris.from_fs_path(path)
    doc = ls.workspace.text_documents.get(uri)
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
        uri=uri, diagnostics=diagnostics_for(ls, path), version=doc.version if doc else None))
    ls.published.add(path)


def publish_project(ls: RstLanguageServer) -> None:
    """Publish for every open document, every file Sphinx warns about, and every file that had warnings."""
    paths = set(ls.published) | {uris.to_fs_path(uri) for uri in ls.workspace.text_documents}
    if ls.sphinx is not None:
        paths |= set(ls.sphinx.warnings())
    for path in sorted(paths):
        publish(ls, path)


def load_sphinx(ls: RstLanguageServer) -> None:
    confdir = ls.ensure_index().conf_dir()
    if confdir is None:
        return
    from rstls.sphinx_mode import SphinxProject

    ls.sphinx = SphinxProject(confdir).load()
    try:
        ls.sphinx.build()
    except Exception as error:  # a crashing build must not take the docutils features down
        logger.exception("Sphinx build failed")
        ls.window_log_message(types.LogMessageParams(types.MessageType.Error, f"Sphinx build failed: {error}"))


@server.feature(types.INITIALIZED)
def initialized(ls: RstLanguageServer, params: types.InitializedParams) -> None:
    load_sphinx(ls)
    publish_project(ls)


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: RstLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
    publish(ls, uris.to_fs_path(params.text_document.uri))


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: RstLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
    publish(ls, uris.to_fs_path(params.text_document.uri))


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: RstLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
    path = uris.to_fs_path(params.text_document.uri)
    if os.path.basename(path) == "conf.py" and ls.sphinx is not None:
        load_sphinx(ls)
    elif ls.sphinx is not None:
        try:
            ls.sphinx.build()
        except Exception:
            logger.exception("Sphinx rebuild failed")
    if ls.sphinx is not None:
        publish_project(ls)
    else:
        publish(ls, path)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: RstLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
    return None


# --- Completion ---------------------------------------------------------------------------------

_DIRECTIVE_PREFIX = re.compile(r"^\s*\.\.\s+([\w:+.-]*)$")
_OPTION_PREFIX = re.compile(r"^(\s+):([\w-]*)$")
_ROLE_TARGET_PREFIX = re.compile(r":([A-Za-z][\w+.-]*(?::[\w+.-]+)*):`(?:[^`<]*<)?([^`<>]*)$")
_ROLE_PREFIX = re.compile(r"(?:^|[\s(\[\"'])(:[\w:+.-]*)$")
_SUBSTITUTION_PREFIX = re.compile(r"(?:^|\s)\|([^|\s]*)$")


@server.feature(types.TEXT_DOCUMENT_COMPLETION,
                types.CompletionOptions(trigger_characters=[".", ":", "`", "|", "<", " "]))
def completion(ls: RstLanguageServer, params: types.CompletionParams) -> types.CompletionList:
    path, lines, outline = _document(ls, params.text_document.uri)
    line = params.position.line
    prefix = lines[line][: params.position.character] if line < len(lines) else ""
    return types.CompletionList(is_incomplete=False, items=_complete(ls, path, outline, line, prefix))


def _complete(ls, path: str, outline: Outline, line: int, prefix: str) -> list[types.CompletionItem]:
    kind = types.CompletionItemKind
    if match := _DIRECTIVE_PREFIX.match(prefix):
        return [types.CompletionItem(label=name, kind=kind.Class, insert_text=f"{name}:: ")
                for name in directive_names(ls.sphinx)]
    if match := _OPTION_PREFIX.match(prefix):
        directive = outline.directive_at(line)
        if directive and directive.line < line and directive.indent < len(match.group(1)):
            return [types.CompletionItem(label=option, kind=kind.Field, insert_text=f"{option}: ")
                    for option in options(directive.name, ls.sphinx)]
    if match := _ROLE_TARGET_PREFIX.search(prefix):
        return _complete_target(ls, path, match.group(1))
    if match := _ROLE_PREFIX.search(prefix):
        return [types.CompletionItem(label=name, kind=kind.Function, insert_text=f"{name}:`")
                for name in role_names(ls.sphinx)]
    if _SUBSTITUTION_PREFIX.search(prefix):
        names = set(outline.substitutions()) | set(ls.sphinx.substitutions if ls.sphinx else ())
        return [types.CompletionItem(label=name, kind=kind.Variable) for name in sorted(names)]
    return []


def _complete_target(ls, path: str, role: str) -> list[types.CompletionItem]:
    index = ls.ensure_index()
    kind = types.CompletionItemKind
    if role in REF_ROLES:
        labels = {name: places[0] for name, places in index.labels().items()}
        return [types.CompletionItem(label=name, kind=kind.Reference,
                                     detail=os.path.relpath(place[0], index.srcdir))
                for name, place in sorted(labels.items())]
    if role in DOC_ROLES:
        return [types.CompletionItem(label=f"/{name}", kind=kind.File, filter_text=name)
                for name in sorted(index.docnames())]
    return []


# --- Hover, definition, references, rename -----------------------------------------------------

def _at(ls: RstLanguageServer, uri: str, position: types.Position):
    """What is under the cursor: ("directive", name), ("role", use), ("target", use), ("label", label),
    ("substitution", name) or None."""
    path, lines, outline = _document(ls, uri)
    line, column = position.line, position.character
    for label in outline.labels:
        if label.line == line and label.start <= column <= label.end:
            return path, outline, ("label", label)
    for directive in outline.directives:
        if directive.line == line:
            text = lines[line]
            start = text.find(directive.name + "::")
            if start <= column <= start + len(directive.name):
                return path, outline, ("directive", directive)
            if column >= directive.arg_start and directive.argument:
                return path, outline, ("argument", directive)
    for use in outline.roles:
        if use.line == line and use.start <= column <= use.end:
            in_role = column <= use.start + len(use.role) + 1
            return path, outline, ("role" if in_role else "target", use)
    if line < len(lines):
        for match in SUBSTITUTION_REF.finditer(lines[line]):
            if match.start() <= column <= match.end():
                return path, outline, ("substitution", match.group("name"))
    return path, outline, None


def _label_place(ls: RstLanguageServer, name: str):
    places = ls.ensure_index().labels().get(normalize_name(name))
    return places[0] if places else None


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls: RstLanguageServer, params: types.HoverParams) -> types.Hover | None:
    path, _outline, found = _at(ls, params.text_document.uri, params.position)
    if found is None:
        return None
    what, item = found
    if what == "directive":
        text = describe(directive_class(item.name, ls.sphinx), f".. {item.name}:: (directive)")
    elif what == "role":
        text = describe(role_function(item.role, ls.sphinx), f":{item.role}: (role)")
    elif what in ("target", "label") and (what == "label" or item.role in REF_ROLES):
        name = item.name if what == "label" else item.target
        text = _describe_label(ls, name)
    else:
        return None
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text)) if text else None


def _describe_label(ls: RstLanguageServer, name: str) -> str | None:
    place = _label_place(ls, name)
    if place is None:
        return None
    path, label = place
    lines, outline = ls.ensure_index().document(path)
    title = next((s.title for s in outline.sections if s.line > label.line), "")
    if ls.sphinx is not None:
        title = ls.sphinx.labels().get(normalize_name(name), (None, title))[1] or title
    where = os.path.relpath(path, ls.ensure_index().srcdir)
    return f"**{title or name}**\n\nLabel `{normalize_name(name)}` in `{where}`, line {label.line + 1}."


@server.feature(types.TEXT_DOCUMENT_DEFINITION)
def definition(ls: RstLanguageServer, params: types.DefinitionParams) -> list[types.Location] | None:
    path, outline, found = _at(ls, params.text_document.uri, params.position)
    if found is None:
        return None
    what, item = found
    index = ls.ensure_index()
    if what == "target" and item.role in REF_ROLES:
        place = _label_place(ls, item.target)
        return [_location(place[0], place[1].line, place[1].start, place[1].end)] if place else None
    if what == "target" and item.role in DOC_ROLES:
        target = index.resolve_doc(item.target, path)
        return [_location(target, 0)] if target else None
    if what == "argument" and item.name in FILE_DIRECTIVES:
        target = index.resolve_file(item.argument, path)
        return [_location(target, 0)] if os.path.exists(target) else None
    if what == "substitution":
        definition_ = outline.substitutions().get(item)
        if definition_ is not None:
            return [_location(path, definition_.line, 0, len(definition_.name))]
    return None


def _label_under_cursor(ls: RstLanguageServer, uri: str, position: types.Position) -> str | None:
    _path_, _outline, found = _at(ls, uri, position)
    if found is None:
        return None
    what, item = found
    if what == "label":
        return item.name
    if what == "target" and item.role in REF_ROLES:
        return normalize_name(item.target)
    return None


def _label_locations(ls: RstLanguageServer, name: str, declarations: bool):
    """(path, line, start, end) of every use, and optionally every definition, of a label."""
    spots = []
    if declarations:
        spots += [(path, label.line, label.start, label.end) for path, label in ls.ensure_index().labels().get(name, [])]
    spots += [(path, use.line, use.target_start, use.target_end) for path, use in ls.ensure_index().ref_uses(name)]
    return spots


@server.feature(types.TEXT_DOCUMENT_REFERENCES)
def references(ls: RstLanguageServer, params: types.ReferenceParams) -> list[types.Location] | None:
    name = _label_under_cursor(ls, params.text_document.uri, params.position)
    if name is None:
        return None
    return [_location(*spot) for spot in _label_locations(ls, name, params.context.include_declaration)]


@server.feature(types.TEXT_DOCUMENT_PREPARE_RENAME)
def prepare_rename(ls: RstLanguageServer, params: types.PrepareRenameParams):
    _path_, _outline, found = _at(ls, params.text_document.uri, params.position)
    if found and found[0] == "label":
        label = found[1]
        return _range(label.line, label.start, label.end)
    if found and found[0] == "target" and found[1].role in REF_ROLES:
        use = found[1]
        return _range(use.line, use.target_start, use.target_end)
    return None


@server.feature(types.TEXT_DOCUMENT_RENAME)
def rename(ls: RstLanguageServer, params: types.RenameParams) -> types.WorkspaceEdit | None:
    name = _label_under_cursor(ls, params.text_document.uri, params.position)
    if name is None:
        return None
    changes: dict[str, list[types.TextEdit]] = {}
    for path, line, start, end in _label_locations(ls, name, True):
        changes.setdefault(uris.from_fs_path(path), []).append(
            types.TextEdit(range=_range(line, start, end), new_text=params.new_name))
    return types.WorkspaceEdit(changes=changes)


# --- Symbols and structure ----------------------------------------------------------------------

@server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def document_symbols(ls: RstLanguageServer, params: types.DocumentSymbolParams) -> list[types.DocumentSymbol]:
    _path_, lines, outline = _document(ls, params.text_document.uri)
    roots: list[types.DocumentSymbol] = []
    stack: list[tuple[int, types.DocumentSymbol]] = []
    for section in outline.sections:
        symbol = types.DocumentSymbol(
            name=section.title, kind=types.SymbolKind.String,
            range=types.Range(types.Position(section.start, 0), types.Position(section.end, len(lines[section.end]))),
            selection_range=_range(section.line, 0, len(section.title)), children=[])
        while stack and stack[-1][0] >= section.level:
            stack.pop()
        (stack[-1][1].children if stack else roots).append(symbol)
        stack.append((section.level, symbol))
    return roots


@server.feature(types.WORKSPACE_SYMBOL)
def workspace_symbols(ls: RstLanguageServer, params: types.WorkspaceSymbolParams) -> list[types.SymbolInformation]:
    query = params.query.lower()
    symbols = []
    for path, outline in ls.ensure_index().outlines():
        for section in outline.sections:
            if query in section.title.lower():
                symbols.append(types.SymbolInformation(name=section.title, kind=types.SymbolKind.String,
                                                       location=_location(path, section.line, 0, len(section.title))))
        for label in outline.labels:
            if label.uri is None and query in label.name:
                symbols.append(types.SymbolInformation(name=label.name, kind=types.SymbolKind.Key,
                                                       location=_location(path, label.line, label.start, label.end)))
    return symbols


@server.feature(types.TEXT_DOCUMENT_DOCUMENT_LINK)
def document_links(ls: RstLanguageServer, params: types.DocumentLinkParams) -> list[types.DocumentLink]:
    path, _lines, outline = _document(ls, params.text_document.uri)
    index = ls.ensure_index()
    links = []
    for directive in outline.directives:
        if directive.name in FILE_DIRECTIVES and directive.argument:
            target = index.resolve_file(directive.argument, path)
            links.append(types.DocumentLink(
                range=_range(directive.line, directive.arg_start, directive.arg_start + len(directive.argument)),
                target=uris.from_fs_path(target), tooltip=os.path.relpath(target, index.srcdir)))
    return links


@server.feature(types.TEXT_DOCUMENT_FOLDING_RANGE)
def folding_ranges(ls: RstLanguageServer, params: types.FoldingRangeParams) -> list[types.FoldingRange]:
    _path_, _lines, outline = _document(ls, params.text_document.uri)
    ranges = [types.FoldingRange(start_line=s.line, end_line=s.end, kind=types.FoldingRangeKind.Region)
              for s in outline.sections if s.end > s.line]
    ranges += [types.FoldingRange(start_line=d.line, end_line=d.end, kind=types.FoldingRangeKind.Region)
               for d in outline.directives if d.end > d.line]
    return sorted(ranges, key=lambda r: (r.start_line, r.end_line))


# --- Preview ------------------------------------------------------------------------------------

@server.command(PREVIEW)
def preview(ls: RstLanguageServer, *args) -> dict:
    """HTML for a document, returned to the client: WASI can open no HTTP server, an editor can show this."""
    from rstls.preview import render

    uri = args[0] if args else None
    if isinstance(uri, dict):
        uri = uri.get("uri")
    if not isinstance(uri, str):
        raise ValueError(f"{PREVIEW} takes the document's URI as its argument, got {args!r}")
    path, lines, _outline = _document(ls, uri)
    return {"uri": uri, "html": render("\n".join(lines) + "\n", path)}
