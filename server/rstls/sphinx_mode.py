"""Sphinx mode: the project's Sphinx, run in-process (esbonio's agent is a subprocess; WASI has none).

Sphinx registers directives and roles in docutils' global tables. Builds run
inside ``docutils_namespace()`` with the tables captured after set-up, so
the per-keystroke docutils checks never execute a Sphinx directive without
an environment. Warnings are read back from Sphinx's warning stream, which
names file and line the same way on every platform.
"""

from __future__ import annotations

import io
import re
import tempfile
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:  # only named in annotations: Sphinx is imported when a project loads
    from sphinx.application import Sphinx
    from sphinx.domains.std import StandardDomain

_WARNING = re.compile(r"^(?P<path>/.*?|[A-Za-z]:\\.*?)(?::(?:docstring of [^:]*:)?(?P<line>\d+))?: "
                      r"(?P<level>WARNING|ERROR|CRITICAL|SEVERE): (?P<message>.*)$")
#: Substitutions Sphinx defines in every document.
DEFAULT_SUBSTITUTIONS = frozenset({"version", "release", "today", "translation progress"})


@dataclass(frozen=True)
class Warning_:
    path: str
    line: int          # 0-based
    message: str
    severity: str


@dataclass
class SphinxProject:
    """A loaded Sphinx application for one ``conf.py`` directory, or the error that stopped it."""

    confdir: Path
    app: Sphinx | None = None
    error: Warning_ | None = None
    directives: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()
    substitutions: frozenset[str] = DEFAULT_SUBSTITUTIONS
    _tables: tuple[dict, dict] = ({}, {})
    _read_warnings: dict[str, set[Warning_]] = field(default_factory=dict)
    _late_warnings: dict[str, set[Warning_]] = field(default_factory=dict)
    _stream: io.StringIO = field(default_factory=io.StringIO)
    _split: int = -1
    #: Docnames the last build (re-)read: the measure of incrementality.
    last_read: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.app is not None

    def load(self) -> SphinxProject:
        """Create the application; on failure keep the error (with the conf.py line) instead."""
        try:
            self.app, self._tables = _create(self.confdir, self.confdir, self._stream)
        except BaseException as error:  # conf.py and extensions may raise anything, even SystemExit
            if isinstance(error, KeyboardInterrupt):
                raise
            self.error = _conf_error(self.confdir / "conf.py", error)
            try:  # Sphinx's own directives and roles still apply when the project's conf fails.
                fallback, self._tables = _create(self.confdir, None, io.StringIO())
                self._collect_names(fallback)
            except Exception:
                pass
            return self
        self.app.connect("env-before-read-docs", self._before_read)
        self.app.connect("env-updated", self._after_read)
        self._collect_names(self.app)
        return self

    def _collect_names(self, app) -> None:
        directives, roles = (set(table) for table in self._tables)
        for domain in app.env.domains.values():
            for kind, names in (("directives", directives), ("roles", roles)):
                for name in getattr(domain, kind):
                    names.add(f"{domain.name}:{name}")
                    if domain.name in ("std", app.config.primary_domain):
                        names.add(name)
        self.directives, self.roles = frozenset(directives), frozenset(roles)
        epilog = f"{app.config.rst_prolog or ''}\n{app.config.rst_epilog or ''}"
        self.substitutions = DEFAULT_SUBSTITUTIONS | {m.group(1) for m in re.finditer(r"\.\.\s+\|([^|]+)\|", epilog)}

    def build(self) -> None:
        """Build with the dummy builder; Sphinx re-reads only documents changed on disk."""
        app = self.app
        if app is None:
            return
        from docutils.parsers.rst import directives, roles
        from sphinx.util.docutils import docutils_namespace, patch_docutils

        self._stream.seek(0)
        self._stream.truncate()
        self._split, self.last_read = -1, []
        with patch_docutils(self.confdir), docutils_namespace():
            directives._directives.update(self._tables[0])
            roles._roles.update(self._tables[1])
            app.build()
        self._record(app)

    def _before_read(self, app, env, docnames) -> None:
        self.last_read = sorted(docnames)

    def _after_read(self, app, env) -> None:
        self._split = self._stream.tell()

    def _record(self, app: Sphinx) -> None:
        text = self._stream.getvalue()
        split = self._split if self._split >= 0 else len(text)
        read, late = _parse(text[:split], self.confdir), _parse(text[split:], self.confdir)
        for name in self.last_read:
            self._read_warnings.pop(str(app.env.doc2path(name)), None)
        for warning in read:
            self._read_warnings.setdefault(warning.path, set()).add(warning)
        self._late_warnings = {}
        for warning in late:
            self._late_warnings.setdefault(warning.path, set()).add(warning)

    def warnings(self) -> dict[str, list[Warning_]]:
        """Current warnings by absolute file path, including a conf.py failure."""
        merged: dict[str, list[Warning_]] = {}
        for table in (self._read_warnings, self._late_warnings):
            for path, warnings in table.items():
                merged.setdefault(path, []).extend(sorted(warnings, key=lambda w: (w.line, w.message)))
        if self.error:
            merged.setdefault(self.error.path, []).append(self.error)
        return merged

    def labels(self) -> dict[str, tuple[str, str]]:
        """``:ref:`` labels from Sphinx's environment: name -> (file path, section title)."""
        if self.app is None:
            return {}
        env = self.app.env
        std = cast("StandardDomain", env.get_domain("std"))
        return {name: (str(env.doc2path(docname)), title or "")
                for name, (docname, _anchor, title) in std.labels.items()
                if docname in env.found_docs}


def _create(srcdir: Path, confdir: Path | None, stream: io.StringIO) -> tuple[Sphinx, tuple[dict, dict]]:
    from docutils.parsers.rst import directives, roles
    from sphinx.application import Sphinx
    from sphinx.util import console
    from sphinx.util.docutils import docutils_namespace, patch_docutils

    console.nocolor()
    out = Path(tempfile.mkdtemp(prefix="rstls-sphinx-"))
    with patch_docutils(confdir), docutils_namespace():
        before = (set(directives._directives), set(roles._roles))
        app = Sphinx(srcdir=str(srcdir), confdir=str(confdir) if confdir else None, outdir=str(out / "out"),
                     doctreedir=str(out / "doctrees"), buildername="dummy", status=io.StringIO(),
                     warning=stream, freshenv=True, parallel=0)
        tables = ({k: v for k, v in directives._directives.items() if k not in before[0]},
                  {k: v for k, v in roles._roles.items() if k not in before[1]})
    return app, tables


def _conf_error(conf: Path, error: BaseException) -> Warning_:
    """The error as a diagnostic on conf.py, at the conf.py line the traceback passes through."""
    line = 0
    for frame in traceback.extract_tb(error.__traceback__):
        if Path(frame.filename).name == "conf.py" and frame.lineno:
            line = frame.lineno - 1
    cause = error
    while cause.__cause__ is not None:
        cause = cause.__cause__
    message = f"Sphinx could not load this project: {error}"
    if cause is not error:
        message += f" ({type(cause).__name__}: {cause})"
    for frame in traceback.extract_tb(cause.__traceback__):
        if Path(frame.filename).name == "conf.py" and frame.lineno:
            line = frame.lineno - 1
    return Warning_(str(conf), line, message, "error")


def _parse(text: str, confdir: Path) -> list[Warning_]:
    warnings = []
    for raw in text.splitlines():
        match = _WARNING.match(raw)
        if match:
            severity = "warning" if match.group("level") == "WARNING" else "error"
            line = int(match.group("line")) - 1 if match.group("line") else 0
            warnings.append(Warning_(match.group("path"), max(line, 0), match.group("message"), severity))
        elif ": WARNING: " not in raw and raw.startswith(("WARNING: ", "ERROR: ")):
            level, _, message = raw.partition(": ")
            warnings.append(Warning_(str(confdir / "conf.py"), 0, message, level.lower()))
    return warnings
