"""Completion: directives, their options, roles, role targets and substitutions, from the line prefix."""

from __future__ import annotations

import os
import re

from lsprotocol import types

from rstls.base import RstLanguageServer, document_of
from rstls.outline import Outline
from rstls.registry import directive_names, options, role_names
from rstls.workspace import DOC_ROLES, REF_ROLES

_DIRECTIVE_PREFIX = re.compile(r"^\s*\.\.\s+([\w:+.-]*)$")
_OPTION_PREFIX = re.compile(r"^(\s+):([\w-]*)$")
_ROLE_TARGET_PREFIX = re.compile(r":([A-Za-z][\w+.-]*(?::[\w+.-]+)*):`(?:[^`<]*<)?([^`<>]*)$")
_ROLE_PREFIX = re.compile(r"(?:^|[\s(\[\"'])(:[\w:+.-]*)$")
_SUBSTITUTION_PREFIX = re.compile(r"(?:^|\s)\|([^|\s]*)$")


def register(server: RstLanguageServer) -> None:
    server.feature(types.TEXT_DOCUMENT_COMPLETION,
                   types.CompletionOptions(trigger_characters=[".", ":", "`", "|", "<", " "]))(completion)


def completion(ls: RstLanguageServer, params: types.CompletionParams) -> types.CompletionList:
    path, lines, outline = document_of(ls, params.text_document.uri)
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
        # Labels in the text as it is now, plus any only Sphinx's environment knows (made by extensions).
        labels = {name: path for name, (path, _title) in (ls.sphinx.labels() if ls.sphinx else {}).items()}
        labels.update({name: places[0][0] for name, places in index.labels().items()})
        return [types.CompletionItem(label=name, kind=kind.Reference, detail=os.path.relpath(path, index.srcdir))
                for name, path in sorted(labels.items())]
    if role in DOC_ROLES:
        return [types.CompletionItem(label=f"/{name}", kind=kind.File, filter_text=name)
                for name in sorted(index.docnames())]
    return []


