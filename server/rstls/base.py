"""The rstls server class and the helpers every feature shares (positions, locations, documents).

Handlers are synchronous on purpose: inside WASI pygls runs a synchronous
loop with no threads, and the same code then behaves identically natively.
Feature modules import this module and never each other's handlers; which
features a server has is decided in one place, ``rstls.features``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls import uris
from pygls.lsp.server import LanguageServer

from rstls import __version__
from rstls.outline import Outline
from rstls.workspace import Workspace

if TYPE_CHECKING:  # only named in annotations: importing it (tempfile, traceback) would slow every start
    from rstls.sphinx_mode import SphinxProject


class RstLanguageServer(LanguageServer):
    """Holds the workspace index and the Sphinx project next to pygls' state."""

    def __init__(self) -> None:
        super().__init__("rstls", __version__)
        self.index: Workspace | None = None
        self.sphinx: SphinxProject | None = None
        self.published: set[str] = set()

    def ensure_index(self) -> Workspace:
        if self.index is None:
            root = self.workspace.root_path or os.getcwd()
            self.index = Workspace(root=Path(root).resolve(), open_text=self._open_text)
        return self.index

    def _open_text(self, path: str) -> tuple[object, Callable[[], str]] | None:
        doc = self.workspace.text_documents.get(uris.from_fs_path(path))
        # id(doc): a document closed and reopened starts again at some version with other text.
        return None if doc is None else ((id(doc), doc.version), lambda: doc.source)

    def known(self) -> dict[str, Any]:
        """What the docutils checks must accept beyond docutils itself: Sphinx's and the extensions' names."""
        project = self.sphinx
        if project is None:
            return {}
        return {"known_directives": project.directives, "known_roles": project.roles,
                "known_substitutions": project.substitutions}


def lsp_range(line: int, start: int, end: int) -> types.Range:
    return types.Range(types.Position(line, start), types.Position(line, end))


def location(path: str, line: int, start: int = 0, end: int = 0) -> types.Location:
    return types.Location(uri=uris.from_fs_path(path), range=lsp_range(line, start, end))


def fs_path(uri: str) -> str:
    """The file a ``file:`` URI names; rstls reads files, so any other scheme (``untitled:``) is refused."""
    path = uris.to_fs_path(uri)
    if path is None:
        raise ValueError(f"rstls works on files only, not on {uri!r}: save the document to a .rst file first")
    return path


def document_of(ls: RstLanguageServer, uri: str) -> tuple[str, list[str], Outline]:
    path = fs_path(uri)
    lines, outline = ls.ensure_index().document(path)
    return path, lines, outline
