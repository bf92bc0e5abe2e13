"""What a project needs to run its own test suite, read from the places projects keep it.

Projects spread test requirements over ``[dependency-groups]``, extras,
requirement files and tox; there is no single standard. We read the common
ones, in this order, and stop at the first that names anything, so that a
project is never tested with a mixture of two unrelated lists:

1. ``[tool.wasi-lsp] test-requirements`` (the project's explicit word);
2. ``[dependency-groups]`` ``test``/``tests``/``testing``/``dev``;
3. extras ``test``/``tests``/``testing``/``dev``;
4. ``tests/requirements.txt`` and the usual ``requirements*/test*.txt`` files.

The project's own runtime dependencies are always added (it is imported from
source, not installed, so nothing else would pull them in), and so is pytest.
A reference to the project itself (``name[extra]``) expands to that extra.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from wasi_lsp.errors import WasiLspError
from wasi_lsp.requirements import canonical, requirement_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

GROUP_NAMES = ("test", "tests", "testing", "dev")
REQUIREMENT_FILES = (
    "tests/requirements.txt", "test/requirements.txt", "testing/requirements.txt",
    "requirements-test.txt", "requirements-tests.txt", "requirements-testing.txt",
    "test-requirements.txt", "tests-requirements.txt", "requirements_test.txt",
    "requirements/test.txt", "requirements/tests.txt", "requirements/testing.txt",
)


@dataclass
class TestDeps:
    """Test requirements and where they came from (shown to the user)."""

    __test__ = False  # not a pytest test class, despite the name

    name: str | None = None
    runtime: list[str] = field(default_factory=list)
    test: list[str] = field(default_factory=list)
    source: str = "none found"

    @property
    def all(self) -> list[str]:
        reqs = self.runtime + self.test
        if not any(canonical(requirement_name(r)) == "pytest" for r in reqs):
            reqs.append("pytest")
        return reqs


def _extras(text: str) -> list[str]:
    match = re.match(r"\s*[A-Za-z0-9][A-Za-z0-9._-]*\s*\[([^\]]*)\]", text)
    return [e.strip() for e in match.group(1).split(",") if e.strip()] if match else []


def read_pyproject(project: Path) -> dict:
    path = project / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise WasiLspError(f"cannot read {path}: {error}", fix="fix the TOML syntax") from None


def read_requirement_file(path: Path) -> list[str]:
    """Requirement lines, following ``-r``; options, ``-e``/local paths (the project itself) are dropped."""
    reqs: list[str] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].split("#", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if line.startswith(("-r", "--requirement")):
            target = line.split(None, 1)[1] if " " in line else line[2:]
            reqs.extend(read_requirement_file(path.parent / target.strip()))
        elif line and not line.startswith(("-", ".", "/")):
            reqs.append(line)
    return reqs


def _group(groups: dict, name: str, seen: set[str]) -> list[str]:
    if name in seen:
        return []
    seen.add(name)
    out: list[str] = []
    for item in groups.get(name, []):
        if isinstance(item, dict) and "include-group" in item:
            out.extend(_group(groups, item["include-group"], seen))
        elif isinstance(item, str):
            out.append(item)
    return out


def _expand_self(reqs: list[str], name: str | None, extras: dict, seen: set[str] | None = None) -> list[str]:
    """Replace ``project[extra]`` (a project depending on its own extra) with that extra's requirements."""
    seen = set() if seen is None else seen
    out: list[str] = []
    for req in reqs:
        if name and canonical(requirement_name(req)) == canonical(name):
            for extra in _extras(req):
                if extra not in seen:
                    seen.add(extra)
                    out.extend(_expand_self(list(extras.get(extra, [])), name, extras, seen))
        else:
            out.append(req)
    return out


def discover(project: Path, explicit: list[str] | None = None) -> TestDeps:
    data = read_pyproject(project)
    meta = data.get("project", {})
    name = meta.get("name")
    extras = meta.get("optional-dependencies", {})
    deps = TestDeps(name=name, runtime=list(meta.get("dependencies", [])))
    if explicit:
        deps.test, deps.source = list(explicit), "[tool.wasi-lsp] test-requirements"
        return deps
    groups = data.get("dependency-groups", {})
    for group in GROUP_NAMES:
        if group in groups:
            deps.test = _expand_self(_group(groups, group, set()), name, extras)
            deps.source = f"[dependency-groups] {group}"
            return deps
    for extra in GROUP_NAMES:
        if extra in extras:
            deps.test = _expand_self(list(extras[extra]), name, extras)
            deps.source = f"[project.optional-dependencies] {extra}"
            return deps
    for relative in REQUIREMENT_FILES:
        path = project / relative
        if path.is_file():
            deps.test, deps.source = read_requirement_file(path), relative
            return deps
    return deps


def source_roots(project: Path) -> list[Path]:
    """Where the project's importable code lives, to go first on the guest's ``sys.path``.

    ``[tool.setuptools] package-dir`` when it names the root, else ``src/``
    when it holds code (the src layout), else the project directory (flat
    layout; namespace packages are plain directories there and need nothing more).
    """
    data = read_pyproject(project)
    package_dir = data.get("tool", {}).get("setuptools", {}).get("package-dir", {})
    if isinstance(package_dir, dict) and package_dir.get(""):
        return [(project / package_dir[""]).resolve()]
    src = project / "src"
    if src.is_dir() and any(p.suffix == ".py" or p.is_dir() for p in src.iterdir()):
        return [src.resolve()]
    return [project.resolve()]
