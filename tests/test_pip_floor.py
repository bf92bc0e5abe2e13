"""The pip floor in pyproject.toml is true: wasi-lsp's own pip calls work on that oldest pip.

A fresh virtual environment gets exactly the floor pip from the registry;
wasi-lsp and its other dependencies come from this checkout's environment
through a ``.pth`` file, so pip is the only thing that differs. Then the real
``wasi-lsp pytest`` runs there on a project whose test requirements include
one without a pure wheel: that takes the pure-wheel dry run (purity.py), the
native resolution that explains a drop, and the ``--target`` install of the
guest environment (env.py), all on the floor pip.
"""

from __future__ import annotations

import os
import re
import subprocess
import sysconfig
import venv
from pathlib import Path

import pytest

from cache_fixtures import compiled_aot, fresh_cache  # noqa: F401 (fixtures)
from conftest import REPO
from test_wasi_pytest import copy_project


def declared_pip_floor() -> str:
    """The ``X`` of ``pip>=X`` in [project] dependencies."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    floors = [m.group(1) for d in deps if (m := re.fullmatch(r"pip\s*>=\s*([0-9.]+)(,.*)?", d.strip()))]
    assert len(floors) == 1, f"expected one pip>=X in [project] dependencies, found {deps}"
    return floors[0]


@pytest.fixture(scope="module")
def floor_python(tmp_path_factory) -> Path:
    """A venv's python whose pip is the declared floor, importing wasi-lsp from this checkout's environment."""
    root = tmp_path_factory.mktemp("pip-floor") / "venv"
    venv.EnvBuilder(with_pip=True).create(root)
    python = root / "bin" / "python"
    floor = declared_pip_floor()
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", f"pip=={floor}"],
                   check=True, timeout=300)
    own_site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              capture_output=True, text=True, check=True).stdout.strip()
    # addsitedir (not a bare path line) so this environment's own .pth files, the editable install's among them, run.
    (Path(own_site) / "zz-wasi-lsp-checkout.pth").write_text(
        f"import site; site.addsitedir({sysconfig.get_paths()['purelib']!r})\n")
    version = subprocess.run([python, "-m", "pip", "--version"], capture_output=True, text=True, check=True).stdout
    assert version.split()[1] == floor, version
    return python


def test_wasi_lsp_pytest_runs_on_the_declared_pip_floor(floor_python, tmp_path, fresh_cache):
    project = copy_project("srclayout", tmp_path)
    proc = subprocess.run(
        [floor_python, "-m", "wasi_lsp", "pytest", "--env", f"FIXTURE_ROOT={project}", str(project),
         "--", "-q", "-k", "double", "-p", "no:randomly"],
        capture_output=True, text=True, cwd=project, timeout=900, env=dict(os.environ),
    )
    assert "wasi-lsp: ujson: ujson has no pure-Python wheel; skipped" in proc.stderr, proc.stderr
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"\b1 passed\b", proc.stdout), proc.stdout
