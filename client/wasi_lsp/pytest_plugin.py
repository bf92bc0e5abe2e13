"""pytest plugin: run the same pytest-lsp suite on native CPython and on every WASI host.

A server author writes one fixture::

    @pytest_lsp.fixture(config=matrix("my_server:server", requirements=["pygls>=2"]))
    async def client(lsp_client: LanguageClient): ...

and every test using it runs once per runtime picked with ``--lsp-runtime``
and ``--wasi-host`` (ids ``[native]``, ``[wasi-wasmtime]``, ...), on the WASI
Python ``--wasi-runtime`` picks, from a snapshot with ``--wasi-snapshot``. pytest-lsp
takes a single config, so :func:`matrix` returns a list that also acts as
one: this plugin parametrizes the fixture over the list (indirectly) and
tells the list which member the current test is using.

Path rule: host directories are mounted at the same absolute path in the
guest, so ``file://`` URIs mean the same file on both sides. pytest's
``tmp_path`` tree is mounted read-write, so workspaces built there just work.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from collections.abc import Mapping, Sequence

import attrs
import pytest
from pytest_lsp import ClientServerConfig

from wasi_lsp.errors import WasiLspError
from wasi_lsp.hosts import HOSTS
from wasi_lsp.overlay import guest_requirements
from wasi_lsp.matrix_client import MatrixClient, make_client
from wasi_lsp.native_cell import native_site, native_target, python_path

RUNTIMES = ("native", "wasi")
DEFAULT_RUNTIMES = "native,wasi"
DEFAULT_HOSTS = "wasmtime"

#: What the command line picked, as (runtime, host) pairs; host is None for native.
_selection: list[tuple[str, str | None]] = []
#: Guest environments already built this session (keyed by requirements).
_built_envs: set[tuple[str, ...]] = set()
#: The session's pytest config (its tmp_path factory is set up by another plugin, later).
_config: list[pytest.Config] = []
#: ``--wasi-runtime``: which WASI Python the wasi cells run on.
_wasi_runtime: list[str] = ["auto"]
#: ``--wasi-snapshot``: whether the wasi cells must serve from a Wizer snapshot.
_wasi_snapshot: list[bool] = [False]


def _runtime_args() -> list[str]:
    from wasi_lsp.runtime_resolve import AUTO_NAMES

    return [] if _wasi_runtime[0] in ("", *AUTO_NAMES) else ["--runtime", _wasi_runtime[0]]


def _session_runtime(name: str) -> str:
    """``built:X.Y`` (and ``auto`` when it resolves to one) as its module's path, which stays
    valid when a test points the cache elsewhere."""
    from wasi_lsp.runtime_resolve import AUTO_NAMES, resolve

    if not (name.startswith("built:") or name in ("", *AUTO_NAMES)):
        return name
    try:
        runtime = resolve(name or "auto")
    except WasiLspError as error:
        raise pytest.UsageError(f"--wasi-runtime {name}: {error}") from None
    return str(runtime.wasm) if runtime.stdlib else "pinned"


def _cell_suffix() -> str:
    return (f"-{_wasi_runtime[0]}" if _runtime_args() else "") + ("+snapshot" if _wasi_snapshot[0] else "")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("wasi-lsp", "language servers on native CPython and WASI")
    group.addoption("--lsp-runtime", default=DEFAULT_RUNTIMES, metavar="native,wasi",
                    help=f"runtimes to run matrix() fixtures on, comma-separated (default {DEFAULT_RUNTIMES})")
    group.addoption("--wasi-host", default=DEFAULT_HOSTS, metavar="HOST,...",
                    help=f"WASI hosts for the wasi runtime: {', '.join(HOSTS)} (default {DEFAULT_HOSTS})")
    group.addoption("--wasi-runtime", default="auto", metavar="RUNTIME",
                    help="the WASI Python for matrix() cells and every wasi-lsp command the tests start "
                         "(as $WASI_LSP_RUNTIME): auto (the default: built:3.11 when built, else the pinned 3.12), "
                         "pinned, built:X.Y, or a python.wasm path")
    group.addoption("--wasi-snapshot", action="store_true",
                    help="serve every wasi cell from a Wizer snapshot (made on first use; needs a built runtime)")


def _split(text: str, allowed: Sequence[str], option: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in allowed]
    if unknown or not names:
        raise pytest.UsageError(f"{option} {text!r}: expected a comma-separated list of {', '.join(allowed)}")
    return list(dict.fromkeys(names))


def _select(runtimes: str, hosts: str) -> None:
    picked: list[tuple[str, str | None]] = []
    for runtime in _split(runtimes, RUNTIMES, "--lsp-runtime"):
        if runtime == "native":
            picked.append(("native", None))
        else:
            picked.extend(("wasi", h) for h in _split(hosts, tuple(HOSTS), "--wasi-host"))
    _selection[:] = picked


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args) -> None:
    """Read the options before conftest files import, in case they call matrix()."""
    ns = early_config.known_args_namespace
    _select(getattr(ns, "lsp_runtime", DEFAULT_RUNTIMES), getattr(ns, "wasi_host", DEFAULT_HOSTS))
    _wasi_runtime[:] = [getattr(ns, "wasi_runtime", "auto")]
    _wasi_snapshot[:] = [bool(getattr(ns, "wasi_snapshot", False))]


@pytest.hookimpl(trylast=True)  # after pytest's tmpdir plugin has set config._tmp_path_factory
def pytest_configure(config: pytest.Config) -> None:
    _select(config.getoption("lsp_runtime"), config.getoption("wasi_host"))
    _wasi_runtime[:] = [config.getoption("wasi_runtime")]
    _wasi_snapshot[:] = [config.getoption("wasi_snapshot")]
    _config[:] = [config]
    # Every wasi-lsp command the session starts, not only matrix() cells, and also under tests
    # that point WASI_LSP_CACHE_DIR at an empty cache (where auto would find nothing built).
    if _runtime_args() or not os.environ.get("WASI_LSP_RUNTIME"):
        os.environ["WASI_LSP_RUNTIME"] = _session_runtime(_wasi_runtime[0])


@attrs.define
class MatrixConfig(ClientServerConfig):
    """One cell of the matrix: how to start the server on one runtime (and host)."""

    label: str = "native"
    timeout: float = 30.0
    #: The server this cell serves, as ``wasi-lsp serve`` names it (module, module:object, console script).
    server: str = ""
    requirements: tuple[str, ...] = ()
    dirs: tuple[Path, ...] = ()
    #: Natively, whether server_command is ours (:func:`_native_command`) rather than the user's native_command.
    own_command: bool = True

    @property
    def is_wasi(self) -> bool:
        return self.label != "native"

    async def start(self, devtools: str | None = None) -> MatrixClient:
        env = dict(os.environ)
        command = list(self.server_command)
        if self.is_wasi:
            await _ensure_guest_env(self.requirements + tuple(guest_requirements(self.server)))
            # Known only now: pytest's temporary directory, where tmp_path workspaces live. Options of
            # `serve`, after its name: a test may have extended server_command after matrix() built it.
            at = command.index("serve") + 1
            command[at:at] = [arg for temp in _mounted_temp() for arg in ("--dir", str(temp))]
        else:
            site = await asyncio.to_thread(native_site, self.requirements)
            env["PYTHONPATH"] = python_path(site, *self.dirs)
            if self.own_command and GUEST_SERVE in command:  # the target as named natively; then a test's own args
                at = command.index(GUEST_SERVE) + 1
                command[at] = native_target(self.server, site)
            env.update(self.server_env or {})
        if devtools is not None:
            command = self._get_devtools_command(devtools) + command
        client = make_client(self.label, self.timeout)
        await client.start_io(*command, env=env)
        return client


class Matrix(list):
    """The configs :func:`matrix` built; pytest-lsp starts the one the current test was given."""

    selected: MatrixConfig | None = None

    async def start(self, devtools: str | None = None) -> MatrixClient:
        if self.selected is None:
            raise WasiLspError(
                "a matrix() fixture was set up without a runtime picked for it",
                fix="use it through @pytest_lsp.fixture(config=matrix(...)) with the wasi_lsp plugin enabled",
            )
        return await self.selected.start(devtools)


def matrix(
    server: str,
    *,
    requirements: Sequence[str] = (),
    dirs: Sequence[str | Path] = (),
    env: Mapping[str, str] = {},
    native_command: Sequence[str] | None = None,
    timeout: float = 30,
) -> list[ClientServerConfig]:
    """One pytest-lsp config per runtime (and WASI host) picked on the command line.

    ``server`` is what ``wasi-lsp serve`` takes (module, module:object, console
    script). ``dirs`` hold the server's code:
    natively they go on PYTHONPATH; in WASI they are mounted at the same path
    and put first on the guest's import path. ``requirements`` are installed
    into the guest environment (natively, only those the running interpreter
    lacks, into a cached ``pip --target`` directory). ``env`` reaches the
    server itself on both sides. ``timeout`` bounds every request and exit.
    """
    if not _selection:
        _select(DEFAULT_RUNTIMES, DEFAULT_HOSTS)
    paths = tuple(Path(d).resolve() for d in dirs)
    for path in paths:
        if not path.is_dir():
            raise WasiLspError(f"matrix(dirs=...): {path} is not a directory",
                               fix="pass the directory holding the server's code")
    configs = Matrix()
    for runtime, host in _selection:
        if runtime == "native":
            command = list(native_command) if native_command else _native_command(server)
            configs.append(MatrixConfig(server_command=command, server_env=dict(env), label="native", timeout=timeout,
                                        server=server, requirements=tuple(requirements), dirs=paths,
                                        own_command=native_command is None))
            continue
        command = serve_command(server, requirements=requirements, dirs=paths, env=env, host=host or "wasmtime")
        label = f"wasi-{host}{_cell_suffix()}"
        configs.append(MatrixConfig(server_command=command, label=label, timeout=timeout,
                                    server=server, requirements=tuple(requirements), dirs=paths))
    return configs


#: The module that serves a target, in the guest and natively alike.
GUEST_SERVE = "wasi_lsp_guest.serve"


def _native_command(target: str) -> list[str]:
    """The server natively: wasi-lsp's serve adapter on this interpreter, as in the guest."""
    return [sys.executable, "-m", GUEST_SERVE, target]


def serve_command(server: str, *, requirements: Sequence[str] = (), dirs: Sequence[str | Path] = (),
                  env: Mapping[str, str] = {}, host: str = "wasmtime", options: Sequence[str] = ()) -> list[str]:
    """``wasi-lsp serve`` as the wasi cells run it, on the runtime and snapshot mode the command line picked.

    ``dirs`` are mounted and put first on the guest's import path. For tests
    that drive a server without :func:`matrix` (raw peers, custom clients).
    """
    paths = [Path(d).resolve() for d in dirs]
    command = [sys.executable, "-m", "wasi_lsp", "serve", "--host", host, *_runtime_args(),
               "--snapshot", "require" if _wasi_snapshot[0] else "off"]
    command += [arg for req in requirements for arg in ("--with", req)]
    command += [arg for path in paths for arg in ("--dir", str(path))]
    guest_env = dict(env)
    if paths:
        guest_env["WASI_LSP_PREPEND"] = ":".join(p.as_posix() for p in paths)
    command += [arg for k, v in guest_env.items() for arg in ("--env", f"{k}={v}")]
    return [*command, *options, server]


def _mounted_temp() -> list[Path]:
    """pytest's base temporary directory, so ``tmp_path`` workspaces are visible in the guest."""
    factory = getattr(_config[0], "_tmp_path_factory", None) if _config else None
    return [Path(factory.getbasetemp()).resolve()] if factory is not None else []


async def _ensure_guest_env(requirements: tuple[str, ...]) -> None:
    """Build the guest environment once, outside any request's timeout (a first build downloads)."""
    key = tuple(sorted(requirements))
    if key in _built_envs:
        return
    command = [sys.executable, "-m", "wasi_lsp", "env", "build", *_runtime_args(),
               *[a for r in key for a in ("--with", r)]]
    proc = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise WasiLspError(f"building the guest environment for {list(key)} failed:\n{err.decode()}{out.decode()}")
    _built_envs.add(key)


def _find_matrix(obj, depth: int = 0) -> Matrix | None:
    """The Matrix a pytest-lsp fixture closes over (pytest-lsp keeps it in a closure cell)."""
    if isinstance(obj, Matrix):
        return obj
    if depth > 4 or obj is None:
        return None
    candidates = [getattr(obj, "__wrapped__", None), getattr(obj, "_fixture_function", None)]
    candidates += [cell.cell_contents for cell in (getattr(obj, "__closure__", None) or ()) if _filled(cell)]
    for candidate in candidates:
        found = _find_matrix(candidate, depth + 1)
        if found is not None:
            return found
    return None


def _filled(cell) -> bool:
    try:
        _ = cell.cell_contents
    except ValueError:
        return False
    return True


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for name in metafunc.fixturenames:
        for fixturedef in metafunc._arg2fixturedefs.get(name, ()):
            found = _find_matrix(fixturedef.func)
            if found is not None:
                metafunc.parametrize(name, list(found), indirect=True, ids=[c.label for c in found])
                break


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef, request):
    found = _find_matrix(fixturedef.func)
    if found is None:
        return (yield)
    found.selected = getattr(request, "param", None)
    try:
        return (yield)
    finally:
        found.selected = None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """On failure, attach what the server wrote to stderr (in WASI, the only trace of a crash)."""
    report = yield
    if report.failed:
        for value in getattr(item, "funcargs", {}).values():
            if isinstance(value, MatrixClient) and value.stderr_lines:
                tail = value.stderr_lines[-400:]
                report.sections.append((f"guest stderr [{value.label}] ({call.when})", "\n".join(tail)))
    return report
