"""Diagnostics through the document lifecycle: docutils' on every open and change, Sphinx's after a save.

On ``initialized`` and on a save of ``conf.py`` or extension code this also
(re)loads the Sphinx project, whose names and labels the other features read
from ``ls.sphinx``. The checks themselves live in ``checker`` and
``sphinx_mode``; this module turns their findings into LSP diagnostics.
"""

from __future__ import annotations

import logging
import os
import re
from typing import TYPE_CHECKING

from lsprotocol import types
from pygls import uris

from rstls.base import RstLanguageServer, fs_path, lsp_range
from rstls.checker import Problem, check
from rstls.outline import scan

if TYPE_CHECKING:  # only named in annotations: importing it (tempfile, traceback) would slow every start
    from rstls.sphinx_mode import SphinxProject

logger = logging.getLogger("rstls")


def register(server: RstLanguageServer) -> None:
    server.feature(types.INITIALIZED)(initialized)
    server.feature(types.TEXT_DOCUMENT_DID_OPEN)(did_open)
    server.feature(types.TEXT_DOCUMENT_DID_CHANGE)(did_change)
    server.feature(types.TEXT_DOCUMENT_DID_SAVE)(did_save)


def initialized(ls: RstLanguageServer, params: types.InitializedParams) -> None:
    load_sphinx(ls)
    publish_project(ls)


def did_open(ls: RstLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
    publish(ls, fs_path(params.text_document.uri))


def did_change(ls: RstLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
    publish(ls, fs_path(params.text_document.uri))


def did_save(ls: RstLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
    path = fs_path(params.text_document.uri)
    if os.path.basename(path) == "conf.py" or (path.endswith(".py") and ls.sphinx is not None):
        load_sphinx(ls)  # configuration or extension code changed: Sphinx must set up again
    elif ls.sphinx is not None:
        build(ls, ls.sphinx)
    if ls.sphinx is not None:
        publish_project(ls)
    else:
        publish(ls, path)


def _diagnostic(problem: Problem) -> types.Diagnostic:
    severity = types.DiagnosticSeverity.Error if problem.severity == "error" else types.DiagnosticSeverity.Warning
    return types.Diagnostic(range=lsp_range(problem.line, problem.start, problem.end), message=problem.message,
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
        seen |= _checked_in_saved_text(ls, path)
        for warning in ls.sphinx.warnings().get(path, []):
            message = _TYPE_TAG.sub("", warning.message)
            if (warning.line, message) in seen:
                continue
            seen.add((warning.line, message))
            problems.append(_sphinx_problem(ls, path, warning))
    return [_diagnostic(p) for p in sorted(problems, key=lambda p: (p.line, p.start))]


#: path -> (saved text, what the docutils check finds in it), for _checked_in_saved_text.
_SAVED_CHECKS: dict[str, tuple[str, frozenset[tuple[int, str]]]] = {}


def _checked_in_saved_text(ls: RstLanguageServer, path: str) -> frozenset[tuple[int, str]]:
    """What the docutils check finds in the saved file, when the open document's text differs.

    Sphinx builds from disk (on open and save) and repeats docutils' messages; the check
    runs on the editor's text at every change. While the two differ, Sphinx's copies of
    what the check found in the saved text are about text that may be gone (a fixed
    directive would keep its error until the save): the check's current answer replaces
    them, and only Sphinx's own warnings (cross-references, toctrees) are kept.
    """
    doc = ls.workspace.text_documents.get(uris.from_fs_path(path))
    if doc is None or not path.endswith(".rst"):
        return frozenset()
    try:
        with open(path, encoding="utf-8", newline="") as saved:
            text = saved.read()
    except (OSError, UnicodeDecodeError):
        return frozenset()
    if text == doc.source:
        return frozenset()
    cached = _SAVED_CHECKS.get(path)
    if cached is None or cached[0] != text:
        lines = text.splitlines()
        found = frozenset((p.line, p.message) for p in check(lines, scan(lines), path, **ls.known()))
        _SAVED_CHECKS[path] = cached = (text, found)
    return cached[1]


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
    paths = set(ls.published) | {path for uri in ls.workspace.text_documents if (path := uris.to_fs_path(uri))}
    if ls.sphinx is not None:
        paths |= set(ls.sphinx.warnings())
    for path in sorted(paths):
        publish(ls, path)


def load_sphinx(ls: RstLanguageServer) -> None:
    confdir = ls.ensure_index().conf_dir()
    if confdir is None:
        return
    from rstls.sphinx_mode import SphinxProject

    ls.sphinx = project = SphinxProject(confdir).load()
    build(ls, project)


def build(ls: RstLanguageServer, project: SphinxProject) -> None:
    """Build, and tell the client which documents Sphinx re-read (on a save: only the changed ones)."""
    try:
        project.build()
    except Exception as error:  # a crashing build must not take the docutils features down
        logger.exception("Sphinx build failed")
        ls.window_log_message(types.LogMessageParams(types.MessageType.Error, f"Sphinx build failed: {error}"))
        return
    if project.ok:
        read = ", ".join(project.last_read) or "nothing"
        ls.window_log_message(types.LogMessageParams(types.MessageType.Info, f"Sphinx re-read: {read}"))
