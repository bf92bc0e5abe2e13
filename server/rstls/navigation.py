"""Hover, go to definition, references and rename: what is under the cursor, resolved across the workspace."""

from __future__ import annotations

import os

from lsprotocol import types
from pygls import uris

from rstls.base import RstLanguageServer, document_of, location, lsp_range
from rstls.outline import FILE_DIRECTIVES, SUBSTITUTION_REF, normalize_name
from rstls.registry import describe, directive_class, role_function
from rstls.workspace import DOC_ROLES, REF_ROLES


def register(server: RstLanguageServer) -> None:
    server.feature(types.TEXT_DOCUMENT_HOVER)(hover)
    server.feature(types.TEXT_DOCUMENT_DEFINITION)(definition)
    server.feature(types.TEXT_DOCUMENT_REFERENCES)(references)
    server.feature(types.TEXT_DOCUMENT_PREPARE_RENAME)(prepare_rename)
    server.feature(types.TEXT_DOCUMENT_RENAME)(rename)


def _at(ls: RstLanguageServer, uri: str, position: types.Position):
    """(path, outline, what) where what is under the cursor: ("label", Label), ("directive", Directive),
    ("argument", Directive), ("role", RoleUse), ("target", RoleUse), ("substitution", name) or None."""
    path, lines, outline = document_of(ls, uri)
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


def hover(ls: RstLanguageServer, params: types.HoverParams) -> types.Hover | None:
    path, _outline, found = _at(ls, params.text_document.uri, params.position)
    if found is None:
        return None
    what, item = found
    text: str | None
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


def definition(ls: RstLanguageServer, params: types.DefinitionParams) -> list[types.Location] | None:
    path, outline, found = _at(ls, params.text_document.uri, params.position)
    if found is None:
        return None
    what, item = found
    index = ls.ensure_index()
    if what == "target" and item.role in REF_ROLES:
        place = _label_place(ls, item.target)
        return [location(place[0], place[1].line, place[1].start, place[1].end)] if place else None
    if what == "target" and item.role in DOC_ROLES:
        target = index.resolve_doc(item.target, path)
        return [location(target, 0)] if target else None
    if what == "argument" and item.name in FILE_DIRECTIVES:
        target = index.resolve_file(item.argument, path)
        return [location(target, 0)] if os.path.exists(target) else None
    if what == "substitution":
        definition_ = outline.substitutions().get(item)
        if definition_ is not None:
            return [location(path, definition_.line, 0, len(definition_.name))]
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
        labels = ls.ensure_index().labels().get(name, [])
        spots += [(path, label.line, label.start, label.end) for path, label in labels]
    spots += [(path, use.line, use.target_start, use.target_end) for path, use in ls.ensure_index().ref_uses(name)]
    return spots


def references(ls: RstLanguageServer, params: types.ReferenceParams) -> list[types.Location] | None:
    name = _label_under_cursor(ls, params.text_document.uri, params.position)
    if name is None:
        return None
    return [location(*spot) for spot in _label_locations(ls, name, params.context.include_declaration)]


def prepare_rename(ls: RstLanguageServer, params: types.PrepareRenameParams):
    _path_, _outline, found = _at(ls, params.text_document.uri, params.position)
    if found and found[0] == "label":
        label = found[1]
        return lsp_range(label.line, label.start, label.end)
    if found and found[0] == "target" and found[1].role in REF_ROLES:
        use = found[1]
        return lsp_range(use.line, use.target_start, use.target_end)
    return None


def rename(ls: RstLanguageServer, params: types.RenameParams) -> types.WorkspaceEdit | None:
    name = _label_under_cursor(ls, params.text_document.uri, params.position)
    if name is None:
        return None
    changes: dict[str, list[types.TextEdit]] = {}
    for path, line, start, end in _label_locations(ls, name, True):
        changes.setdefault(uris.from_fs_path(path), []).append(
            types.TextEdit(range=lsp_range(line, start, end), new_text=params.new_name))
    return types.WorkspaceEdit(changes=changes)


