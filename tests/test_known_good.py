"""scripts/known-good.txt and pyproject.toml tell the same story about dependency versions.

Every direct dependency of wasi-lsp[test] has a known-good pin, each pin lies
inside the range pyproject.toml declares (so WASI_LSP_KNOWN_GOOD=1 installs a
set a user could also get), and each test-only tool has an upper bound: a
new major of pytest, pytest-asyncio or hypothesis is not claimed untested.
"""

from __future__ import annotations

import importlib.util

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from conftest import REPO

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

TEST_TOOLS = ("pytest", "pytest-asyncio", "hypothesis")


def known_good() -> dict[str, str]:
    spec = importlib.util.spec_from_file_location("known_good", REPO / "scripts" / "known_good.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {canonicalize_name(k): v for k, v in module.pins().items()}


def direct_requirements() -> list[Requirement]:
    """[project] dependencies and every extra that wasi-lsp[test] pulls in, evaluated for this Python."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted, todo, reqs = set(), ["test"], [Requirement(r) for r in project["dependencies"]]
    while todo:
        extra = todo.pop()
        if extra in wanted:
            continue
        wanted.add(extra)
        for text in extras[extra]:
            req = Requirement(text)
            if canonicalize_name(req.name) == "wasi-lsp":
                todo.extend(req.extras)
            else:
                reqs.append(req)
    return [r for r in reqs if r.marker is None or r.marker.evaluate()]


def test_every_direct_dependency_has_a_known_good_version_inside_its_declared_range():
    pins = known_good()
    for req in direct_requirements():
        name = canonicalize_name(req.name)
        assert name in pins, f"{req} has no version in scripts/known-good.txt"
        assert req.specifier.contains(pins[name], prereleases=True), \
            f"scripts/known-good.txt pins {name}=={pins[name]}, outside pyproject.toml's {req}"
    assert set(pins) == {canonicalize_name(r.name) for r in direct_requirements()}, "known-good.txt names extra packages"


def test_test_tools_name_an_upper_bound():
    tools = {canonicalize_name(r.name): r for r in direct_requirements() if r.name in TEST_TOOLS}
    assert set(tools) == set(TEST_TOOLS)
    for req in tools.values():
        assert any(s.operator in ("<", "<=", "==", "~=") for s in req.specifier), f"{req} has no upper bound"

