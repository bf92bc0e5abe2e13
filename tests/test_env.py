"""Guest environments: building, caching, pure-wheel fallback, metadata and bytecode.

These install real distributions from the package index with pip and import
them in real WASI guests.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from cache_fixtures import compiled_aot, fresh_cache  # noqa: F401 (fixtures)
from conftest import guest_python, pyc_tag, wasi_lsp

# docutils: small, pure, and it has console scripts (RECORD lists ../../bin/...).
DOCUTILS = "docutils>=0.20"


def env_path(*args: str, cwd: Path | None = None) -> Path:
    return Path(wasi_lsp("env", "path", *args, cwd=cwd, check=True).stdout.strip())


def assert_one_clear_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("wasi-lsp: error: ") == 1, proc.stderr
    for needle in needles:
        assert needle in proc.stderr, (needle, proc.stderr)


def published(cache_root: Path) -> list[Path]:
    """Environment directories that could be used (not staging leftovers)."""
    envs = cache_root / "envs"
    return [p for p in envs.iterdir() if not p.name.startswith(".")] if envs.is_dir() else []


@pytest.fixture(scope="module")
def docutils_env() -> Path:
    """One docutils environment in the shared cache, for the read-only checks."""
    return env_path("--no-project", DOCUTILS)


# --- where requirements come from, and the cache key ----------------------------------


def test_requirements_from_args_file_and_pyproject_share_one_env(tmp_path, docutils_env):
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(f'[tool.wasi-lsp]\nrequirements = ["{DOCUTILS}"]\n')
    (project / "reqs.txt").write_text(f"# guest requirements\n{DOCUTILS}  # for rst\n")
    assert env_path(cwd=project) == docutils_env
    assert env_path("--no-project", "-r", str(project / "reqs.txt"), cwd=project) == docutils_env
    assert env_path("--no-project", f"  {DOCUTILS} ", cwd=project) == docutils_env
    info = json.loads(wasi_lsp("env", "info", cwd=project, check=True).stdout)
    assert info["root"] == str(docutils_env)
    assert info["requirements"] == [DOCUTILS] and info["python"] == guest_python()
    assert any(name.startswith("docutils-") for name in info["installed"])
    build = wasi_lsp("env", "build", cwd=project, check=True).stdout
    assert build.startswith(f"environment ready: {docutils_env}\n  python {guest_python()}, ")
    # Another requirement set is another environment.
    assert env_path("--no-project", DOCUTILS, "lsprotocol") != docutils_env


def test_cache_hit_is_fast_and_reuses_the_directory(docutils_env):
    marker = docutils_env / "wasi-lsp-env.json"
    before = marker.stat()
    started = time.perf_counter()
    assert env_path("--no-project", DOCUTILS) == docutils_env
    elapsed = time.perf_counter() - started
    after = marker.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert elapsed < 3.0, f"a cached env took {elapsed:.2f} s (no pip, no guest should run)"


def test_key_covers_requirements_and_runtime(pinned_runtime, tmp_path):
    from dataclasses import replace

    from cache_fixtures import flip_byte
    from wasi_lsp.env import requirements_key

    key = requirements_key(["b", "a"], pinned_runtime)
    assert key == requirements_key([" a", "b ", "a"], pinned_runtime)
    assert key != requirements_key(["a"], pinned_runtime)
    assert key != requirements_key(["a", "b"], replace(pinned_runtime, python_version=(3, 11)))
    other = tmp_path / "python.wasm"
    other.write_bytes(pinned_runtime.wasm.read_bytes())
    flip_byte(other)  # another module: the key follows its hash, not its path or name
    assert key != requirements_key(["a", "b"], replace(pinned_runtime, wasm=other, expected_sha256=None))


@pytest.fixture
def pinned_runtime(fresh_cache):
    from wasi_lsp.runtime_resolve import resolve

    return resolve("pinned")


# --- pure wheels, and what has none ------------------------------------------------------


def test_markupsafe_gets_a_pure_wheel_built_from_its_sdist(fresh_cache):
    proc = wasi_lsp("env", "build", "--no-project", "markupsafe", check=True)
    assert "note: markupsafe: no pure wheel on the index; built one from its sdist" in proc.stdout
    (wheel,) = (fresh_cache / "wheels").glob("markupsafe-*.whl")
    assert wheel.name.endswith("-py3-none-any.whl")
    code = ("import importlib.util, markupsafe; "
            "print(markupsafe.escape('<b>'), importlib.util.find_spec('markupsafe._speedups'))")
    out = wasi_lsp("run", "--no-project", "--with", "markupsafe", "--", "-c", code, check=True).stdout
    assert out == "&lt;b&gt; None\n"


def _pure_wheel(directory: Path, name: str, requires: list[str]) -> Path:
    """A minimal valid wheel, so the test controls the dependency chain."""
    dist = f"{name.replace('-', '_')}-1.0.dist-info"
    files = {
        f"{name.replace('-', '_')}/__init__.py": "",
        f"{dist}/METADATA": "Metadata-Version: 2.1\n"
        f"Name: {name}\nVersion: 1.0\n" + "".join(f"Requires-Dist: {r}\n" for r in requires),
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }

    def record(data: bytes) -> str:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        return f"sha256={digest},{len(data)}"

    lines = [f"{path},{record(text.encode())}" for path, text in files.items()] + [f"{dist}/RECORD,,"]
    wheel = directory / f"{name.replace('-', '_')}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
        archive.writestr(f"{dist}/RECORD", "\n".join(lines) + "\n")
    return wheel


def test_mandatory_c_extension_fails_naming_package_chain_and_why(tmp_path, fresh_cache):
    links = tmp_path / "links"
    links.mkdir()
    _pure_wheel(links, "needs-ujson", ["ujson"])
    proc = wasi_lsp("env", "build", "--no-project", "needs-ujson", env={"PIP_FIND_LINKS": str(links)})
    assert_one_clear_error(proc, "ujson", "has no pure-Python wheel, so it cannot run in WASI",
                           "needs a C compiler", "required by: needs-ujson -> ujson", "fix: ")
    assert published(fresh_cache) == []
    assert not list((fresh_cache / "wheels").glob("ujson*"))


def test_unknown_requirement_is_one_clear_pip_error(fresh_cache):
    proc = wasi_lsp("env", "build", "--no-project", "wasi-lsp-no-such-distribution-xyz")
    assert_one_clear_error(proc, "pip could not install wasi-lsp-no-such-distribution-xyz",
                           "No matching distribution found for wasi-lsp-no-such-distribution-xyz",
                           "fix: check the requirement names")
    assert "building one from its sdist" not in proc.stderr  # it exists nowhere: nothing to build
    assert published(fresh_cache) == []


# --- layout, metadata and bytecode -------------------------------------------------------


def test_metadata_files_resolve_inside_the_mount(docutils_env):
    code = """
import importlib.metadata as md, os
dist = md.distribution("docutils")
scripts = [f for f in dist.files if str(f).startswith("../../bin/")]
print("scripts", len(scripts) > 0, os.path.normpath(scripts[0].locate()).startswith("/wasi-lsp/env/bin/"))
missing = [str(f) for f in dist.files if not os.path.exists(f.locate())]
for f in dist.files:
    with open(f.locate(), "rb") as handle:
        handle.read(1)
print("missing", missing)
print("entry point", "docutils" in {e.name for e in md.entry_points(group="console_scripts")})
"""
    out = wasi_lsp("run", "--no-project", "--with", DOCUTILS, "--", "-c", code, check=True).stdout
    assert out.splitlines() == ["scripts True True", "missing []", "entry point True"]
    assert (docutils_env / "bin" / "docutils").is_file()


def _snapshot(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in sorted(root.rglob("*"))}


def test_bytecode_is_precompiled_unchecked_and_imports_write_nothing(docutils_env):
    pycs = list((docutils_env / "lib/python/docutils/__pycache__").glob("*.pyc"))
    assert pycs and all(p.name.endswith(f".{pyc_tag()}.pyc") for p in pycs)
    for pyc in pycs:
        flags = int.from_bytes(pyc.read_bytes()[4:8], "little")
        assert flags == 0b01, f"{pyc.name}: expected an unchecked hash-based pyc, flags={flags:#b}"
    before = _snapshot(docutils_env)
    code = """
import docutils.core
try:
    open("/wasi-lsp/env/lib/python/new.txt", "w")
except OSError as error:
    print("read-only", type(error).__name__)
"""
    proc = wasi_lsp("run", "--no-project", "--with", DOCUTILS, "--", "-v", "-c", code, check=True)
    assert proc.stdout.startswith("read-only ")
    site = "/wasi-lsp/env/lib/python/docutils"
    assert f"# code object from '{site}/__pycache__/core.{pyc_tag()}.pyc'" in proc.stderr
    assert f"# {site}/__pycache__/core.{pyc_tag()}.pyc matches {site}/core.py" in proc.stderr
    assert _snapshot(docutils_env) == before


# --- atomic builds ------------------------------------------------------------------------


def test_interrupted_build_is_never_used(fresh_cache):
    envs = fresh_cache / "envs"
    proc = subprocess.Popen([sys.executable, "-m", "wasi_lsp", "env", "build", "--no-project", DOCUTILS],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not list(envs.glob(".*.partial/lib/python")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert list(envs.glob(".*.partial")), "the build never started staging"
    finally:
        proc.kill()
        proc.wait()
    assert published(fresh_cache) == []
    root = env_path("--no-project", DOCUTILS)
    assert (root / "wasi-lsp-env.json").is_file()
    out = wasi_lsp("run", "--no-project", "--with", DOCUTILS, "--", "-c", "import docutils; print('ok')", check=True)
    assert out.stdout == "ok\n"


def test_a_directory_without_the_marker_is_rebuilt(fresh_cache):
    root = env_path("--no-project", "six")
    (root / "wasi-lsp-env.json").unlink()
    (root / "lib/python/six.py").write_text("raise SystemExit('half-made env used')\n")
    assert env_path("--no-project", "six") == root
    out = wasi_lsp("run", "--no-project", "--with", "six", "--", "-c", "import six; print(six.PY3)", check=True)
    assert out.stdout == "True\n"
    assert os.path.isfile(root / "wasi-lsp-env.json")
