"""A smoke subset of the LSP corpus on the two child-process hosts.

The default run drives the whole corpus on native CPython and embedded
wasmtime; this runs the handler tests (sync, async, threaded handlers,
executors, scheduled tasks, a debounce timer, errors) through the same plugin
on the wasmtime CLI and Node, as `--wasi-host wasmtime-cli,node` would.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def test_handler_corpus_passes_on_wasmtime_cli_and_node(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(HERE / "test_handlers.py"),
         "--lsp-runtime", "wasi", "--wasi-host", "wasmtime-cli,node", "--basetemp", str(tmp_path / "t")],
        capture_output=True, text=True, timeout=900, cwd=HERE.parent.parent,
    )
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    passed = int(re.search(r"(\d+) passed", summary).group(1))
    assert passed >= 10 and "failed" not in summary, summary
    listing = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--collect-only", "-p", "no:cacheprovider", str(HERE / "test_handlers.py"),
         "--lsp-runtime", "wasi", "--wasi-host", "wasmtime-cli,node"],
        capture_output=True, text=True, timeout=300, cwd=HERE.parent.parent,
    ).stdout
    assert "wasi-wasmtime-cli" in listing and "wasi-node" in listing
