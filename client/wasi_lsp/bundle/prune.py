"""Copy guest files into a bundle, leaving out what a running server never reads.

Every byte ships in the ``.vsix`` and, in VS Code for the Web, is fetched
over the network on first use, so the bundle drops: test suites, bytecode of
other Python versions, type stubs, and ``.dist-info`` files that only
installers read. It keeps ``METADATA``, ``entry_points.txt`` and
``top_level.txt`` (``importlib.metadata`` reads them: versions, plugin
entry points) and licence files.
"""

from __future__ import annotations

import shutil
from pathlib import Path

#: Package directories that hold a distribution's own tests.
TEST_DIRS = frozenset({"tests", "test"})
#: .dist-info files only pip and auditors read.
DIST_INFO_CLUTTER = frozenset({"RECORD", "INSTALLER", "REQUESTED", "WHEEL", "direct_url.json", "REQUESTED.txt"})
#: Sources of compiled artefacts: gettext reads .mo, never .po; C sources are not built in WASI.
SKIP_SUFFIXES = (".pyi", ".pyo", ".c", ".h", ".pyx", ".pxd", ".po")


def keep(path: Path, *, python_tag: str) -> bool:
    """Whether a file (relative path) belongs in the bundle."""
    parts = path.parts
    cpython = f".cpython-{python_tag.replace('.', '')}."
    if any(part in TEST_DIRS for part in parts[:-1]) and not any(p.endswith(".dist-info") for p in parts):
        return False
    if path.suffix == ".pyc":
        return len(parts) >= 2 and parts[-2] == "__pycache__" and cpython in path.name
    if len(parts) >= 2 and parts[-2].endswith(".dist-info") and parts[-1] in DIST_INFO_CLUTTER:
        return False
    return not path.name.endswith(SKIP_SUFFIXES)


def copy_tree(source: Path, dest: Path, *, python_tag: str) -> None:
    dest.mkdir(parents=True, exist_ok=True)  # an empty environment is still mounted
    for path in sorted(source.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(source)
        if keep(rel, python_tag=python_tag):
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)


def copy_entry(source: Path, dest: Path, *, python_tag: str) -> None:
    """A file or a directory tree, pruned."""
    if source.is_dir():
        copy_tree(source, dest, python_tag=python_tag)
    elif keep(Path(source.name), python_tag=python_tag):
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest)


def tree_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
