"""The workspace index: every document's outline, for cross-file labels, documents and symbols.

Open documents are read from the editor's text (keyed by version), closed
ones from disk (keyed by mtime), so a save or an edit re-scans one file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rstls.outline import Label, Outline, RoleUse, normalize_name, scan

SKIP_DIRS = {"_build", "build", "node_modules", "__pycache__", "venv"}
SUFFIXES = (".rst",)
REF_ROLES = ("ref", "std:ref")
DOC_ROLES = ("doc", "std:doc")


@dataclass
class Workspace:
    root: Path
    #: path -> (version, function returning the text) of a document open in the editor, else None
    open_text: Callable[[str], tuple[object, Callable[[], str]] | None] = lambda path: None
    _cache: dict[str, tuple[object, list[str], Outline]] = field(default_factory=dict)

    @property
    def srcdir(self) -> Path:
        """Where ``/``-absolute paths and docnames start: the conf.py directory, else the root."""
        conf = self.conf_dir()
        return conf if conf else self.root

    def conf_dir(self) -> Path | None:
        for candidate in (self.root, self.root / "docs", self.root / "doc", self.root / "source"):
            if (candidate / "conf.py").is_file():
                return candidate
        return None

    def files(self) -> list[str]:
        found = []
        for directory, dirs, names in os.walk(self.root):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
            found += [os.path.join(directory, name) for name in sorted(names) if name.endswith(SUFFIXES)]
        return found

    def document(self, path: str) -> tuple[list[str], Outline]:
        """Lines and outline of one file, re-scanned only when its version or mtime changed."""
        opened = self.open_text(path)
        if opened is not None:
            stamp, read = ("open", opened[0]), opened[1]
        else:
            try:
                stamp = ("disk", os.stat(path).st_mtime_ns)
            except OSError:
                return [], Outline()

            def read():
                with open(path, encoding="utf-8", errors="replace") as handle:
                    return handle.read()
        cached = self._cache.get(path)
        if cached and cached[0] == stamp:
            return cached[1], cached[2]
        lines = read().splitlines()
        outline = scan(lines)
        self._cache[path] = (stamp, lines, outline)
        return lines, outline

    def outlines(self):
        for path in self.files():
            yield path, self.document(path)[1]

    def labels(self) -> dict[str, list[tuple[str, Label]]]:
        """``:ref:`` labels (internal targets) of all documents: name -> [(path, label)]."""
        found: dict[str, list[tuple[str, Label]]] = {}
        for path, outline in self.outlines():
            for label in outline.labels:
                if label.uri is None:
                    found.setdefault(label.name, []).append((path, label))
        return found

    def ref_uses(self, name: str) -> list[tuple[str, RoleUse]]:
        name = normalize_name(name)
        return [(path, use) for path, outline in self.outlines() for use in outline.roles
                if use.role in REF_ROLES and normalize_name(use.target) == name]

    def docnames(self) -> dict[str, str]:
        """Docname (``/``-separated, no suffix, relative to srcdir) -> path."""
        srcdir = self.srcdir
        names = {}
        for path in self.files():
            relative = Path(path).relative_to(srcdir) if Path(path).is_relative_to(srcdir) else None
            if relative is not None:
                names[relative.with_suffix("").as_posix()] = path
        return names

    def resolve_doc(self, target: str, from_path: str) -> str | None:
        """The file of a ``:doc:`` target: relative to the citing document, or to srcdir if ``/``-absolute."""
        docnames = self.docnames()
        if target.startswith("/"):
            return docnames.get(target.lstrip("/"))
        base = Path(from_path).parent
        try:
            name = Path(os.path.normpath(base / target)).relative_to(self.srcdir).as_posix()
        except ValueError:
            return None
        return docnames.get(name)

    def resolve_file(self, argument: str, from_path: str) -> str:
        """The file an include/image argument names (``/`` means the source directory, as in Sphinx)."""
        if argument.startswith("/"):
            return os.path.normpath(self.srcdir / argument.lstrip("/"))
        return os.path.normpath(Path(from_path).parent / argument)
