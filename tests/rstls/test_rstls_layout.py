"""rstls's layout: one list of feature modules, and a server that has exactly what that list registers.

A feature is reached only through ``rstls.features.FEATURES``: a feature
module left out of it would register nothing and no other test would say
why. These tests read the package's source and build a server natively, so
they need no WASI runtime. They do so in a child Python: in this process
``rstls`` would be tests/rstls/, a namespace package found before the real one.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from lsprotocol import types

PACKAGE = Path(__file__).resolve().parents[2] / "server" / "rstls"
#: What rstls answers. pygls itself keeps the workspace in step on didClose, so rstls registers no handler for it.
EXPECTED_FEATURES = {
    types.INITIALIZED, types.TEXT_DOCUMENT_DID_OPEN, types.TEXT_DOCUMENT_DID_CHANGE, types.TEXT_DOCUMENT_DID_SAVE,
    types.TEXT_DOCUMENT_COMPLETION, types.TEXT_DOCUMENT_HOVER, types.TEXT_DOCUMENT_DEFINITION,
    types.TEXT_DOCUMENT_REFERENCES, types.TEXT_DOCUMENT_PREPARE_RENAME, types.TEXT_DOCUMENT_RENAME,
    types.TEXT_DOCUMENT_DOCUMENT_SYMBOL, types.WORKSPACE_SYMBOL, types.TEXT_DOCUMENT_DOCUMENT_LINK,
    types.TEXT_DOCUMENT_FOLDING_RANGE,
}
EXPECTED_COMMANDS = {"rstls.preview"}


def _rstls(code: str):
    """What ``code`` prints as JSON, run in a fresh native Python that imports the real rstls."""
    code = f"import json\nfrom rstls.features import FEATURES, create_server\n{code}"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=PACKAGE.parent)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _feature_list() -> set[str]:
    return set(_rstls("print(json.dumps([module.__name__ for module in FEATURES]))"))


def _trees() -> dict[str, ast.Module]:
    return {f"rstls.{path.stem}": ast.parse(path.read_text(), str(path)) for path in sorted(PACKAGE.glob("*.py"))}


def _registers_handlers(tree: ast.Module) -> bool:
    """A module-level ``register`` function, or any ``<x>.feature(...)`` / ``<x>.command(...)`` call."""
    if any(isinstance(node, ast.FunctionDef) and node.name == "register" for node in tree.body):
        return True
    return any(isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
               and node.func.attr in ("feature", "command") for node in ast.walk(tree))


def _imported(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_every_module_that_registers_handlers_is_in_the_feature_list():
    registering = {name for name, tree in _trees().items() if _registers_handlers(tree)}
    listed = _feature_list()
    assert registering - listed == set(), "add these modules to rstls.features.FEATURES"
    assert listed - registering == set(), "these listed modules have no register(server)"


def test_feature_modules_never_import_the_list_or_the_server_instance():
    """The graph stays a tree: features -> base, and only rstls.server -> rstls.features -> features."""
    features = _feature_list()
    for name, tree in _trees().items():
        imported = _imported(tree)
        if name in features or name == "rstls.base":
            assert not imported & {"rstls.server", "rstls.features", *features}, name
        if name == "rstls.server":
            assert not imported & features, "rstls.server takes its features from rstls.features only"


def test_the_server_registers_exactly_the_expected_features():
    registered = "fm = create_server().protocol.fm\nprint(json.dumps([list(fm.features), list(fm.commands)]))"
    features, commands = _rstls(registered)
    assert set(features) == EXPECTED_FEATURES
    assert set(commands) == EXPECTED_COMMANDS
