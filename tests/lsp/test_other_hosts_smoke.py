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
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", str(HERE / "test_handlers.py"),
         "--lsp-runtime", "wasi", "--wasi-host", "wasmtime-cli,node", "--basetemp", str(tmp_path / "t")],
        capture_output=True, text=True, timeout=900, cwd=HERE.parent.parent,
    )
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "14 passed" in summary and "failed" not in summary and "skipped" not in summary, summary
    for cell in ("wasi-wasmtime-cli", "wasi-node"):  # every handler test, on each host
        assert len(re.findall(rf"\[{cell}[\]-]\S* PASSED", proc.stdout)) == 7, proc.stdout[-4000:]
