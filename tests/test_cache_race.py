"""Several real processes build the same cache entries at once: one builds, the rest reuse it.

This is what pytest-xdist workers, CI shards on one runner and an editor
opening two windows do to ``~/.cache/wasi-lsp``. Each test races real
``wasi-lsp`` processes (real pip, real wasmtime) on a private, cold cache
and then checks the cache: one entry per item, intact, built once, no
leftovers, and every racer got the right answer.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cache_fixtures import compiled_aot, fresh_cache  # noqa: F401 (fixtures)
from conftest import wasi_lsp

#: What every racer runs: a guest environment (pip, byte-compiling), the guest overlay and the compiled runtime.
RACE_COMMAND = ("run", "--no-project", "--with", "six", "--", "-c", "import six; print('six', six.__version__)")


def _race(count: int, cache: Path, command: tuple[str, ...] = RACE_COMMAND) -> list[subprocess.CompletedProcess]:
    """Start ``count`` wasi-lsp processes on ``cache`` at once and collect them all."""
    env = {**os.environ, "WASI_LSP_CACHE_DIR": str(cache), "WASI_LSP_RUNTIME": "default"}
    procs = [
        subprocess.Popen([sys.executable, "-m", "wasi_lsp", *command], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(count)
    ]
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=900)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done


def _entries(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def _assert_one_intact_copy(cache: Path) -> None:
    envs = _entries(cache / "envs")
    assert len(envs) == 1, f"expected one environment, found {envs}"
    env = cache / "envs" / envs[0]
    record = json.loads((env / "wasi-lsp-env.json").read_text())
    assert record["requirements"] == ["six"] and any(i.startswith("six-") for i in record["installed"])
    assert (env / "lib/python/six.py").is_file()
    overlays = _entries(cache / "guest")
    assert len(overlays) == 1, f"expected one guest overlay, found {overlays}"
    assert (cache / "guest" / overlays[0] / "sitecustomize.py").is_file()
    artifacts = sorted((cache / "aot").glob("*.cwasm"))
    assert len(artifacts) == 1 and _entries(cache / "aot") == sorted([artifacts[0].name, artifacts[0].with_suffix(".json").name])
    meta = json.loads(artifacts[0].with_suffix(".json").read_text())
    assert hashlib.sha256(artifacts[0].read_bytes()).hexdigest() == meta["sha256"]
    leftovers = [p for p in cache.rglob(".*.partial")]
    assert not leftovers, f"unfinished builds left behind: {leftovers}"


def _assert_all_succeeded(results: list[subprocess.CompletedProcess]) -> str:
    for proc in results:
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("six "), proc.stdout
        assert "Traceback" not in proc.stderr
    assert len({p.stdout for p in results}) == 1
    return "".join(p.stderr for p in results)


def test_racing_processes_on_a_cold_cache_build_each_item_once(tmp_path):
    """Everything cold, the compiled runtime included: four processes, one build of each item."""
    cache = tmp_path / "cache"
    stderr = _assert_all_succeeded(_race(4, cache))
    assert stderr.count("wasi-lsp: Compiling python-3.12.0.wasm") == 1, stderr
    assert stderr.count("wasi-lsp: building the guest environment for six") == 1, stderr
    assert "waiting for another process to finish building" in stderr
    _assert_one_intact_copy(cache)
    again = wasi_lsp(*RACE_COMMAND, env={"WASI_LSP_CACHE_DIR": str(cache), "WASI_LSP_RUNTIME": "default"})
    assert again.returncode == 0 and again.stdout.startswith("six ")
    assert "Compiling" not in again.stderr and "building" not in again.stderr, again.stderr


def test_twenty_racing_runs_leave_one_intact_environment(fresh_cache):
    """Twenty processes on a cold environment and overlay (the compiled runtime seeded): none fails, one copy."""
    stderr = _assert_all_succeeded(_race(20, fresh_cache))
    assert stderr.count("wasi-lsp: building the guest environment for six") == 1, stderr
    assert "Compiling" not in stderr
    _assert_one_intact_copy(fresh_cache)


def test_racing_runs_on_the_wasmtime_cli_compile_its_artifact_once(fresh_cache):
    """The CLI host's own caches: its executable copy of wasmtime and its compiled runtime."""
    command = ("run", "--host", "wasmtime-cli", *RACE_COMMAND[1:])
    stderr = _assert_all_succeeded(_race(3, fresh_cache, command))
    assert stderr.count("wasi-lsp: Compiling python-3.12.0.wasm with the wasmtime CLI") == 1, stderr
    artifacts = sorted((fresh_cache / "aot-cli").glob("*.cwasm"))
    assert len(artifacts) == 1
    meta = json.loads(artifacts[0].with_suffix(".json").read_text())
    assert hashlib.sha256(artifacts[0].read_bytes()).hexdigest() == meta["sha256"]
    assert not list(fresh_cache.rglob(".*.partial"))


def test_a_killed_builder_does_not_block_the_next(tmp_path, monkeypatch):
    """The lock is the kernel's: a builder killed mid-build leaves no lock behind, only a partial to sweep."""
    from wasi_lsp import cache

    monkeypatch.setenv("WASI_LSP_CACHE_DIR", str(tmp_path))
    env = dict(os.environ)
    entry = tmp_path / "envs" / "x"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from wasi_lsp import cache\n"
         f"with cache.building(Path({str(entry)!r})):\n print('locked', flush=True); time.sleep(600)"],
        env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        waiter = subprocess.Popen(
            [sys.executable, "-c",
             "from pathlib import Path; from wasi_lsp import cache\n"
             f"with cache.building(Path({str(entry)!r}), 'x'):\n print('got it')"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        with pytest.raises(subprocess.TimeoutExpired):
            waiter.communicate(timeout=2)  # held: the waiter waits
    finally:
        holder.kill()
        holder.wait()
    out, err = waiter.communicate(timeout=30)
    assert out.strip() == "got it"
    assert "waiting for another process to finish building x" in err
    assert cache.lock_path(entry).parent == tmp_path / "locks"


@pytest.mark.runtime_build
def test_racing_snapshots_of_the_built_runtime_make_one(tmp_path):
    """Three processes snapshot the same preload at once (needs built:3.11; its own job runs it)."""
    from wasi_lsp import runtime_build
    from wasi_lsp.runtime_resolve import resolve

    if runtime_build.read_manifest("3.11") is None:
        pytest.fail("built:3.11 is missing: run scripts/build-runtime.sh before pytest -m runtime_build")
    wasm = str(resolve("built:3.11").wasm)  # by path: the private cache below has no built runtimes
    env = {**os.environ, "WASI_LSP_CACHE_DIR": str(tmp_path)}
    command = [sys.executable, "-m", "wasi_lsp", "runtime", "snapshot", "--no-project", "--runtime", wasm,
               "--preload", "json"]
    procs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    results = [proc.communicate(timeout=900) for proc in procs]
    assert all(proc.returncode == 0 for proc in procs), results
    made = [err for _, err in results if "\nsnapshot: " in f"\n{err}"]
    assert len(made) == 1 and sum("\nup to date: " in f"\n{err}" for _, err in results) == 2, results
    assert len({out for out, _ in results}) == 1  # each prints the one snapshot's path
    finished = list((tmp_path / "snapshots").glob("*/*/snapshot.json"))
    assert len(finished) == 1 and not list(tmp_path.rglob(".*.partial"))
    meta = json.loads(finished[0].read_text())
    assert hashlib.sha256((finished[0].parent / "python.wasm").read_bytes()).hexdigest() == meta["sha256"]
