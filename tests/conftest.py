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


@pytest.fixture(params=ALL_HOSTS)
def host(request) -> str:
    """Each WASI host in turn."""
    return request.param

# tests/projects/ holds fixture projects that test_wasi_pytest.py runs inside WASI; not tests of this repo.
collect_ignore = ["projects"]
