"""The rstls language server: one ``@server.feature`` handler per LSP capability.

Handlers are synchronous on purpose: inside WASI pygls runs a synchronous
loop with no threads, and the same code then behaves identically natively.
This module holds the server, its state and the document lifecycle
(diagnostics); completion, navigation and structure hold the other
features. The analysis lives in plain modules (outline, checker, workspace,
sphinx_mode, registry, preview); the handlers only translate to LSP types.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from lsprotocol import types
from pygls import uris
from pygls.lsp.server import LanguageServer

from rstls import __version__
from rstls.checker import Problem, check
from rstls.outline import Outline
from rstls.workspace import Workspace

logger = logging.getLogger("rstls")


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
            self.index = Workspace(root=Path(root).resolve(), open_text=self._open_text)
        return self.index

    def _open_text(self, path: str):
        doc = self.workspace.text_documents.get(uris.from_fs_path(path))
        # id(doc): a document closed and reopened starts again at some version with other text.
        return None if doc is None else ((id(doc), doc.version), lambda: doc.source)

    def known(self) -> dict:
        """What the docutils checks must accept beyond docutils itself: Sphinx's and the extensions' names."""
        project = self.sphinx
        if project is None:
            return {}
        return {"known_directives": project.directives, "known_roles": project.roles,
                "known_substitutions": project.substitutions}


server = RstLanguageServer()


def lsp_range(line: int, start: int, end: int) -> types.Range:
    return types.Range(types.Position(line, start), types.Position(line, end))


def location(path: str, line: int, start: int = 0, end: int = 0) -> types.Location:
    return types.Location(uri=uris.from_fs_path(path), range=lsp_range(line, start, end))


def document_of(ls: RstLanguageServer, uri: str) -> tuple[str, list[str], Outline]:
    path = uris.to_fs_path(uri)
    lines, outline = ls.ensure_index().document(path)
    return path, lines, outline


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
    build(ls)


def build(ls: RstLanguageServer) -> None:
    """Build, and tell the client which documents Sphinx re-read (on a save: only the changed ones)."""
    try:
        ls.sphinx.build()
    except Exception as error:  # a crashing build must not take the docutils features down
        logger.exception("Sphinx build failed")
        ls.window_log_message(types.LogMessageParams(types.MessageType.Error, f"Sphinx build failed: {error}"))
        return
    if ls.sphinx.ok:
        read = ", ".join(ls.sphinx.last_read) or "nothing"
        ls.window_log_message(types.LogMessageParams(types.MessageType.Info, f"Sphinx re-read: {read}"))


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
    if os.path.basename(path) == "conf.py" or (path.endswith(".py") and ls.sphinx is not None):
        load_sphinx(ls)  # configuration or extension code changed: Sphinx must set up again
    elif ls.sphinx is not None:
        build(ls)
    if ls.sphinx is not None:
        publish_project(ls)
    else:
        publish(ls, path)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: RstLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
    return None


# The features register their handlers on ``server`` when imported.
from rstls import completion, navigation, structure  # noqa: E402,F401
