"""The runtime built from Debian's sources (built:3.11) and its Wizer snapshots.

Tests marked ``runtime_build`` need ``scripts/build-runtime.sh`` to have run
(minutes), so the default run deselects them; ``scripts/runtime-job.sh`` is
their own job (the build, these tests, and the end-to-end suites on it).
The rest check what a user sees before any build: the errors and the manifest.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import ClientServerConfig, client_capabilities

from conftest import wasi_lsp
from wasi_lsp import runtime_build, snapshot
from wasi_lsp.errors import IntegrityError, WasiLspError
from wasi_lsp.runtime_resolve import resolve

runtime_build_only = pytest.mark.runtime_build


# -- without a build ---------------------------------------------------------------------------


def test_unknown_built_runtime_names_the_build_command(tmp_path):
    proc = wasi_lsp("run", "--runtime", "built:3.99", "--", "-c", "pass", env={"WASI_LSP_CACHE_DIR": str(tmp_path)})
    assert proc.returncode == 2
    assert "no built runtime '3.99'" in proc.stderr
    assert "fix: run wasi-lsp runtime build" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unbuilt_runtime_says_to_build_it(tmp_path):
    proc = wasi_lsp("run", "--runtime", "built:3.11", "--", "-c", "pass", env={"WASI_LSP_CACHE_DIR": str(tmp_path)})
    assert proc.returncode == 2
    assert "built:3.11 has not been built yet" in proc.stderr
    assert "fix: run scripts/setup.sh, or wasi-lsp runtime build" in proc.stderr


def _fake_build(root: Path, wasm_bytes: bytes) -> dict:
    """A manifest and layout as a build leaves them (the module is any file: only hashing is checked here)."""
    (root / "lib/python3.11").mkdir(parents=True)
    (root / "lib/python3.11/os.py").write_text("")
    (root / "python.wasm").write_bytes(wasm_bytes)
    manifest = {"format": runtime_build.FORMAT, "tag": "3.11",
                "inputs": {"source": {"version": "3.11.2-6+deb12u8"}},
                "outputs": runtime_build.output_hashes(root, "3.11")}
    (root / "manifest.json").write_text(json.dumps(manifest))
    return manifest


def test_manifest_registers_the_release_layout(tmp_path, monkeypatch):
    monkeypatch.setenv("WASI_LSP_CACHE_DIR", str(tmp_path))
    manifest = _fake_build(tmp_path / "runtimes-built" / "3.11", b"\0asm")
    runtime = resolve("built:3.11")
    assert runtime.python_version == (3, 11)
    assert runtime.stdlib == tmp_path / "runtimes-built/3.11/lib/python3.11"
    assert runtime.stdlib_guest == "/usr/local/lib/python3.11"
    assert runtime.expected_sha256 == manifest["outputs"]["python.wasm"]
    assert runtime.sha256() == manifest["outputs"]["python.wasm"]


def test_a_changed_module_is_refused_against_the_manifest(tmp_path, monkeypatch):
    monkeypatch.setenv("WASI_LSP_CACHE_DIR", str(tmp_path))
    root = tmp_path / "runtimes-built" / "3.11"
    _fake_build(root, b"\0asm")
    (root / "python.wasm").write_bytes(b"\0asm tampered")
    with pytest.raises(IntegrityError, match="refusing to run it"):
        resolve("built:3.11").sha256()


def test_deb_src_twins_only_the_deb_stanzas():
    text = (
        "Types: deb\n# a comment\nURIs: http://mirror.invalid/debian\nSuites: bookworm bookworm-updates\n"
        "Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
        "Types: deb-src\nURIs: http://other.invalid/debian\nSuites: bookworm\nComponents: main\n"
    )
    assert runtime_build.deb_src_stanzas(text) == (
        "Types: deb-src\nURIs: http://mirror.invalid/debian\nSuites: bookworm bookworm-updates\n"
        "Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    )


@pytest.mark.pinned_runtime
def test_the_pinned_runtime_cannot_be_snapshotted(tmp_path):
    proc = wasi_lsp("runtime", "snapshot", "--preload", "json", "--no-project",
                    env={"WASI_LSP_CACHE_DIR": str(tmp_path)})
    assert proc.returncode == 2
    assert "cannot be snapshotted" in proc.stderr
    assert "wasi-lsp runtime build" in proc.stderr


@pytest.mark.parametrize("text", ["", "pygls,,", "pygls,../x", "a b"])
def test_bad_preload_lists_are_refused(text):
    if text == "pygls,,":
        assert snapshot.parse_preload(text) == ["pygls"]
        return
    with pytest.raises(WasiLspError, match="expected module names"):
        snapshot.parse_preload(text)


@pytest.mark.pinned_runtime
def test_serve_requiring_a_snapshot_on_the_pinned_runtime_names_the_fix():
    proc = wasi_lsp("serve", "--no-project", "--snapshot", "require", "--print-capabilities", "rstls")
    assert proc.returncode == 2, proc.stderr
    assert "--snapshot require: the runtime" in proc.stderr and "cannot be snapshotted" in proc.stderr
    assert "--runtime built:3.11" in proc.stderr


@pytest.mark.pinned_runtime
def test_serve_on_the_pinned_runtime_ignores_snapshots_by_default():
    proc = wasi_lsp("serve", "--no-project", "--print-capabilities", "rstls", check=True)
    assert "snapshot" not in proc.stdout.splitlines()[1]


def test_default_preload_is_the_module_serve_imports():
    serve = ["-m", "wasi_lsp_guest.serve"]
    assert snapshot.default_preload("rstls", [*serve, "rstls.__main__:main"]) == ["rstls.server"]
    assert snapshot.default_preload("my_server:server", [*serve, "my_server:server", "--x"]) == [
        "pygls", "lsprotocol.types", "my_server"]
    assert snapshot.default_preload("runpy_style", [*serve, "runpy_style"]) == ["pygls", "lsprotocol.types"]


@pytest.mark.parametrize("value", [["pygls", "my_server"], "pygls, my_server"])
def test_preload_from_the_project(value):
    from argparse import Namespace

    from wasi_lsp.config import ProjectConfig

    project = ProjectConfig(table={"preload": value})
    assert snapshot.configured_preload(Namespace(preload=None), project) == ["pygls", "my_server"]
    assert snapshot.configured_preload(Namespace(preload="json"), project) == ["json"]
    assert snapshot.configured_preload(Namespace(preload=None), ProjectConfig()) is None


def test_an_unknown_snapshot_mode_in_the_project_is_refused(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.wasi-lsp]\nserver = "rstls"\nsnapshot = "always"\n')
    proc = wasi_lsp("serve", "--print-capabilities", cwd=tmp_path)
    assert proc.returncode == 2
    assert "snapshot mode 'always' is not one of auto, require, off" in proc.stderr


# -- with the built runtime ------------------------------------------------------------------


@pytest.fixture(scope="module")
def built():
    manifest = runtime_build.read_manifest("3.11")
    if manifest is None:
        pytest.fail("built:3.11 is missing: run scripts/build-runtime.sh before pytest -m runtime_build")
    return manifest


@runtime_build_only
def test_built_runtime_runs_on_each_host(built, host):
    if host == "node" and shutil.which("node") is None:
        pytest.skip("node is not installed")
    proc = wasi_lsp("run", "--runtime", "built:3.11", "--host", host, "--",
                    "-c", "import sys, os; print(sys.version); print(sys.platform, os.__file__)", check=True)
    version, where = proc.stdout.splitlines()
    assert version.startswith("3.11.2 "), version
    assert where == "wasi /usr/local/lib/python3.11/os.py"


@runtime_build_only
def test_manifest_records_inputs_and_matches_outputs(built):
    inputs = built["inputs"]
    assert inputs["source"]["files"]["python3.11_3.11.2.orig.tar.gz"] == runtime_build.RECIPES["3.11"]["orig_sha256"]
    assert set(inputs["debian_packages"]) >= {"clang", "lld", "wasi-libc", "libclang-rt-dev-wasm32", "python3.11"}
    assert inputs["build_python"]["version"] == "3.11.2"
    assert inputs["SOURCE_DATE_EPOCH"] == runtime_build.SOURCE_DATE_EPOCH
    assert runtime_build.output_hashes(runtime_build.output_dir("3.11"), "3.11") == built["outputs"]


@runtime_build_only
def test_build_date_is_pinned_not_the_day_of_the_build(built):
    proc = wasi_lsp("run", "--runtime", "built:3.11", "--", "-c", "import sys; print(sys.version)", check=True)
    assert proc.stdout.startswith("3.11.2 (main, Feb  8 2023, 00:00:00)"), proc.stdout


@runtime_build_only
def test_two_builds_from_the_same_inputs_are_identical(built):
    if not built.get("reproducible"):
        pytest.skip("built without --verify-reproducible, so there is no second build to compare")
    assert built["reproducible"]["second_outputs"] == built["outputs"]
    assert built["reproducible"]["identical"] is True


@runtime_build_only
def test_python_wasm_names_no_build_directory(built):
    """python.wasm must not depend on where the cache is: the same recipe built in two caches gave
    two modules while __FILE__ and getpath's VPATH embedded the work directory's absolute path."""
    data = (runtime_build.output_dir("3.11") / "python.wasm").read_bytes()
    work = str(runtime_build.cache.cache_dir("runtimes-built")).encode()
    assert data.count(work) == 0
    assert data.count(runtime_build.BUILD_PREFIX.encode()) > 0


@runtime_build_only
def test_a_second_build_with_the_same_inputs_is_skipped(built):
    started = time.monotonic()
    proc = wasi_lsp("runtime", "build", check=True)
    assert "up to date" in proc.stderr
    assert time.monotonic() - started < 60


@runtime_build_only
def test_environment_with_pygls_on_the_built_runtime(built):
    proc = wasi_lsp("run", "--runtime", "built:3.11", "--with", "pygls>=2.1,<3", "--",
                    "-c", "import pygls.server, sys; print(sys.version_info[:2], pygls.server.__name__)", check=True)
    assert proc.stdout.strip() == "(3, 11) pygls.server"


def _session_config(*args: str) -> ClientServerConfig:
    return ClientServerConfig(server_command=[sys.executable, "-m", "wasi_lsp", "serve", *args])


async def _initialize(client):
    return await client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"), root_uri=None))


async def _assert_rstls_initializes(*serve_options: str) -> None:
    client = await _session_config(*serve_options, "rstls").start()
    try:
        result = await _initialize(client)
        assert result.server_info.name == "rstls"
    finally:
        await client.shutdown_session()


@runtime_build_only
async def test_rstls_serves_on_the_built_runtime(built):
    await _assert_rstls_initializes("--runtime", "built:3.11")


# -- snapshots ---------------------------------------------------------------------------------

PRELOAD = ["pygls", "lsprotocol.types", "rstls", "random", "logging", "tempfile"]


def _grants(dirs=()):
    from wasi_lsp.overlay import guest_requirements
    from wasi_lsp.sandbox import Grants

    return Grants(runtime=resolve("built:3.11"), requirements=guest_requirements("rstls"), dirs=list(dirs))


def _spec(args, dirs=(), env=()):
    from wasi_lsp import sandbox

    grants = _grants(dirs)
    grants.env = list(env)
    spec = sandbox.build(grants, list(args))
    return spec


@pytest.fixture(scope="module")
def snap(built):
    return snapshot.create(_spec([]), PRELOAD, say=lambda text: None)


def _run_on(snap_, args, dirs=(), env=(), plain=False):
    from wasi_lsp.hosts import embedded

    spec = _spec(args, dirs, env)
    if plain:
        spec = replace(spec, env={**spec.env, "PYTHONHASHSEED": "0"})
    else:
        spec = snapshot.for_run(spec, snap_)
    code, out, err = embedded.run_captured(spec)
    assert code == 0, err
    return out


@runtime_build_only
def test_snapshot_has_the_preloads_imported_and_runs_fresh_argv(snap):
    out = _run_on(snap, ["-c", "import sys; print(sys.argv, 'rstls' in sys.modules, 'lsprotocol.types' in sys.modules)",
                         "one", "two"])
    assert out.strip() == "['-c', 'one', 'two'] True True"


@runtime_build_only
def test_snapshot_reseeds_random(snap):
    code = "import random; print(random.random())"
    first, second = _run_on(snap, ["-c", code]), _run_on(snap, ["-c", code])
    assert first != second


@runtime_build_only
def test_snapshot_hashing_is_the_declared_seed_not_a_captured_secret(snap):
    code = "import sys; print(hash('wasi-lsp'), sys.flags.hash_randomization)"
    on_snapshot = _run_on(snap, ["-c", code])
    assert on_snapshot == _run_on(snap, ["-c", code])
    assert on_snapshot == _run_on(snap, ["-c", code], plain=True)  # a fresh interpreter with PYTHONHASHSEED=0
    assert on_snapshot.split()[1] == "0"


@runtime_build_only
def test_snapshot_sees_the_time_of_the_run(snap):
    time.sleep(max(0.0, 2 - (time.time() - os.path.getmtime(snap.wasm))))  # a leak would show as >= 2 s old
    before = time.time()
    out = _run_on(snap, ["-c", "import time, logging; print(time.time(), logging._startTime)"])
    now, log_start = (float(x) for x in out.split())
    assert before - 0.5 <= log_start <= now <= time.time() + 0.5


@runtime_build_only
def test_snapshot_sees_the_environment_of_the_run(snap):
    code = "import os; print(os.environ.get('PROBE'), os.getenv('PROBE'), os.environb.get(b'PROBE'))"
    assert _run_on(snap, ["-c", code], env=["PROBE=first"]).strip() == "first first b'first'"
    assert _run_on(snap, ["-c", code], env=["PROBE=second"]).strip() == "second second b'second'"
    assert _run_on(snap, ["-c", code]).strip() == "None None None"


FDS = "import os\nopen_fds = []\nfor fd in range(64):\n    try:\n        os.fstat(fd)\n        open_fds.append(fd)\n    except OSError:\n        pass\nprint(open_fds)"


@runtime_build_only
def test_snapshot_has_the_same_open_descriptors_as_a_fresh_start(snap):
    assert _run_on(snap, ["-c", FDS]) == _run_on(snap, ["-c", FDS], plain=True)


@runtime_build_only
def test_snapshot_resolves_a_mount_added_after_its_own(snap, tmp_path):
    (tmp_path / "data.txt").write_text("from the extra mount")
    out = _run_on(snap, ["-c", f"print(open({str(tmp_path / 'data.txt')!r}).read())"], dirs=[str(tmp_path)])
    assert out.strip() == "from the extra mount"


@runtime_build_only
def test_snapshot_refuses_other_mounts(snap, tmp_path):
    from wasi_lsp.hosts import embedded

    spec = _spec(["-c", "print('ran')"])
    swapped = replace(spec, mounts=(spec.mounts[1], spec.mounts[0], *spec.mounts[2:]))
    with pytest.raises(WasiLspError, match="was made with mounts"):
        snapshot.for_run(swapped, snap)
    # Past the host's check, the guest compares the preopens itself and refuses.
    unchecked = replace(swapped, runtime=snap.runtime(spec.runtime),
                        env={**swapped.env, **snapshot.snapshot_env(snap.meta["preload"])})
    code, out, err = embedded.run_captured(unchecked)
    assert code == 70 and "ran" not in out
    assert re.search(r"mount 1 is .* but was .* when the snapshot was made", err), err


@runtime_build_only
def test_a_preload_that_leaves_a_file_open_is_refused(built, tmp_path):
    from wasi_lsp import sandbox

    (tmp_path / "leaky.py").write_text("handle = open(__file__)\n")
    grants = _grants([f"{tmp_path}:ro"])
    grants.prepend = [str(tmp_path)]
    spec = sandbox.build(grants, [])
    with pytest.raises(WasiLspError, match="descriptor \\d+ is still open after the preloads"):
        snapshot.create(spec, ["leaky"], say=lambda text: None)


@runtime_build_only
def test_snapshot_refuses_a_changed_import_path(snap):
    from wasi_lsp.hosts import embedded

    spec = snapshot.for_run(_spec(["-c", "print('ran')"]), snap)
    code, out, err = embedded.run_captured(replace(spec, env={**spec.env, "PYTHONPATH": "/elsewhere"}))
    assert code == 70 and "ran" not in out
    assert "PYTHONPATH is '/elsewhere' now" in err
    with pytest.raises(WasiLspError, match=r"made with another import path \(WASI_LSP_PREPEND\)"):
        snapshot.for_run(_spec(["-c", "print('ran')"], env=["WASI_LSP_PREPEND=/elsewhere"]), snap)


@runtime_build_only
async def test_serve_uses_the_matching_snapshot(built):
    # Through the CLI both times, so the snapshot is made for exactly what serve mounts.
    wasi_lsp("runtime", "snapshot", "--runtime", "built:3.11", "--preload", "pygls,lsprotocol.types,rstls", "rstls",
             check=True)
    proc = wasi_lsp("serve", "--runtime", "built:3.11", "--preload", "pygls,lsprotocol.types,rstls",
                    "--print-capabilities", "rstls", check=True)
    assert "+ snapshot [pygls,lsprotocol.types,rstls]" in proc.stdout
    assert "snapshot: " not in proc.stderr  # found, not made again
    # Without a configured list, serve wants rstls' default one and makes it once.
    wasi_lsp("serve", "--runtime", "built:3.11", "--snapshot", "require", "--print-capabilities", "rstls", check=True)
    proc = wasi_lsp("serve", "--runtime", "built:3.11", "--print-capabilities", "rstls", check=True)
    assert "+ snapshot [rstls.server]" in proc.stdout
    await _assert_rstls_initializes("--runtime", "built:3.11")


@runtime_build_only
def test_snapshot_runs_on_each_host(snap, host, capfd):
    from wasi_lsp.hosts import get_host

    if host == "node" and shutil.which("node") is None:
        pytest.skip("node is not installed")
    spec = snapshot.for_run(_spec(["-c", "import sys; print(sys.argv, 'rstls' in sys.modules)", "x"]), snap)
    assert get_host(host).run(spec) == 0
    assert capfd.readouterr().out.splitlines()[-1] == "['-c', 'x'] True"


PROBE_SERVER = """from pygls.lsp.server import LanguageServer

server = LanguageServer("probe", "v1")
"""


def _probe_serve(directory: Path, *options: str) -> subprocess.CompletedProcess:
    return wasi_lsp("serve", "--no-project", "--runtime", "built:3.11", "--with", "pygls>=2.1,<3",
                    "--dir", str(directory), "--env", f"WASI_LSP_PREPEND={directory}", *options,
                    "--print-capabilities", "probe_server:server")


@runtime_build_only
def test_serve_makes_a_snapshot_when_required_and_reuses_it(built, tmp_path):
    (tmp_path / "probe_server.py").write_text(PROBE_SERVER)  # a fresh mount: no snapshot can match it yet
    auto = _probe_serve(tmp_path)
    assert auto.returncode == 0 and "+ snapshot" not in auto.stdout  # a look (--print-capabilities) makes none
    made = _probe_serve(tmp_path, "--snapshot", "require")
    assert made.returncode == 0, made.stderr
    assert "snapshot: " in made.stderr
    assert "+ snapshot [pygls,lsprotocol.types,probe_server]" in made.stdout
    again = _probe_serve(tmp_path)
    assert "snapshot: " not in again.stderr
    assert "+ snapshot [pygls,lsprotocol.types,probe_server]" in again.stdout
    assert "+ snapshot" not in _probe_serve(tmp_path, "--snapshot", "off").stdout


@runtime_build_only
def test_serve_makes_the_configured_preload_list(built, tmp_path):
    (tmp_path / "probe_server.py").write_text(PROBE_SERVER)
    options = ("--preload", "probe_server,json")
    looked = _probe_serve(tmp_path, *options)  # a look (--print-capabilities) makes none
    assert looked.returncode == 0 and "+ snapshot" not in looked.stdout, looked.stderr
    started = wasi_lsp("serve", "--no-project", "--runtime", "built:3.11", "--with", "pygls>=2.1,<3",
                       "--dir", str(tmp_path), "--env", f"WASI_LSP_PREPEND={tmp_path}", *options,
                       "probe_server:server", input="")  # a real first start makes it
    assert started.returncode == 0, started.stderr
    made = _probe_serve(tmp_path, *options)
    assert "+ snapshot [probe_server,json]" in made.stdout


@runtime_build_only
def test_a_stale_snapshot_is_named_not_silently_skipped(built, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    for directory in (first, second):
        directory.mkdir()
        (directory / "probe_server.py").write_text(PROBE_SERVER)
    assert _probe_serve(first, "--snapshot", "require").returncode == 0
    moved = _probe_serve(second)
    assert moved.returncode == 0
    assert "+ snapshot" not in moved.stdout
    assert re.search(r"the snapshot \S+ for probe_server:server no longer matches \(its mounts or import path changed\)",
                     moved.stderr), moved.stderr


@runtime_build_only
def test_the_plugin_serves_matrix_cells_from_a_snapshot(built):
    tests = Path(__file__).resolve().parent
    proc = subprocess.run([sys.executable, "-m", "pytest", str(tests / "lsp" / "test_utf16.py"), "-v", "-p",
                           "no:cacheprovider", "--lsp-runtime", "wasi", "--wasi-runtime", "built:3.11",
                           "--wasi-snapshot"], capture_output=True, text=True, cwd=tests.parent, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "[wasi-wasmtime-built:3.11+snapshot] PASSED" in proc.stdout


@runtime_build_only
def test_bench_reports_the_built_runtime_plain_and_from_a_snapshot(built, tmp_path):
    out = tmp_path / "bench.json"
    proc = wasi_lsp("bench", "--hosts", "wasmtime@built:3.11", "--runs", "1", "--servers", "rstls",
                    "--skip", "cold,latency,interpreter,env,pytest", "--json", str(out), timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    start = json.loads(out.read_text())["start"]["rstls"]
    assert set(start) == {"native", "wasi-wasmtime@built:3.11", "wasi-wasmtime@built:3.11+snapshot"}
    assert "wasi-wasmtime@built:3.11+snapshot" in proc.stdout


@runtime_build_only
def test_wasi_lsp_runtime_moves_every_command_and_pinned_names_the_pinned(built):
    code = "import sys; print(sys.version_info[:2])"
    moved = wasi_lsp("run", "--no-project", "--", "-c", code, env={"WASI_LSP_RUNTIME": "built:3.11"}, check=True)
    assert moved.stdout.strip() == "(3, 11)"
    pinned = wasi_lsp("run", "--no-project", "--runtime", "pinned", "--", "-c", code,
                      env={"WASI_LSP_RUNTIME": "built:3.11"}, check=True)
    assert pinned.stdout.strip() == "(3, 12)"
