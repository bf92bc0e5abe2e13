"""Shared helpers: every test here starts real WASI processes through the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ALL_HOSTS = ("wasmtime", "wasmtime-cli", "node")


def wasi_lsp(*args: str, input: str | bytes | None = None, timeout: float = 300, cwd: Path | None = None,
             env: dict | None = None, check: bool = False) -> subprocess.CompletedProcess:
    """Run ``wasi-lsp ARGS`` as a user would, capturing its output."""
    proc = subprocess.run(
        [sys.executable, "-m", "wasi_lsp", *args],
        input=input,
        capture_output=True,
        text=not isinstance(input, bytes),
        timeout=timeout,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"wasi-lsp {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def guest_python() -> str:
    """``X.Y`` of the runtime this session's commands run on (``--wasi-runtime`` moves them)."""
    from wasi_lsp.runtime import resolve

    return resolve().tag


def pyc_tag() -> str:
    return "cpython-" + guest_python().replace(".", "")


def guest_stdlib_mounts() -> list[str]:
    """The guest paths the runtime itself needs mounted (none for an embedded stdlib)."""
    from wasi_lsp.runtime import resolve, runtime_mounts

    return [mount.guest for mount in runtime_mounts(resolve())]


def _on_the_pinned_runtime(node):
    """Tests marked ``pinned_runtime`` are about the pinned runtime itself, so they always run on it."""
    if node.get_closest_marker("pinned_runtime") is None:
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WASI_LSP_RUNTIME", "pinned")
        yield


@pytest.fixture(autouse=True, scope="module")
def _pinned_runtime_module(request):
    """For a marked module, before its module-scoped fixtures build anything."""
    yield from _on_the_pinned_runtime(request.node)


@pytest.fixture(autouse=True)
def _pinned_runtime_test(request):
    yield from _on_the_pinned_runtime(request.node)


@pytest.fixture(params=ALL_HOSTS)
def host(request) -> str:
    """Each WASI host in turn."""
    return request.param

# tests/projects/ holds fixture projects that test_wasi_pytest.py runs inside WASI; not tests of this repo.
collect_ignore = ["projects"]
