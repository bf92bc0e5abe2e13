"""The Node.js host: node's built-in WASI (``node:wasi``) as a child process.

Useful where the guest must run next to JavaScript tooling (VS Code web, CI
images with only node). node:wasi has no read-only mounts, no memory limit
and no timeout; ``node_runner.mjs`` adds all three (see its header), so this
host honours the whole spec like the others.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
from functools import cache
from pathlib import Path

from wasi_lsp.errors import wall_clock_exceeded
from wasi_lsp.hosts.child import run_child
from wasi_lsp.spec import RunSpec

RUNNER = Path(__file__).with_name("node_runner.mjs")
MIN_NODE = 20


class NodeWasi:
    name = "node"

    def unavailable_reason(self) -> str | None:
        node = find_node()
        if node is None:
            return f"node is not on PATH (install Node.js {MIN_NODE} or newer, or set WASI_LSP_NODE)"
        version = node_version(node)
        if version is None or version[0] < MIN_NODE:
            shown = ".".join(map(str, version)) if version else "unknown"
            return f"{node} is Node.js {shown}; node:wasi preview1 needs {MIN_NODE} or newer"
        return None

    def run(self, spec: RunSpec) -> int:
        spec.runtime.sha256()  # the same integrity check as the other hosts, before the module is read
        code = run_child(node_argv(spec, find_node() or "node"))
        if code == -signal.SIGKILL and spec.limits.timeout:
            raise wall_clock_exceeded(spec.limits.timeout)  # the runner's timer killed it
        return code


def find_node() -> str | None:
    """``$WASI_LSP_NODE``, else ``node`` on PATH."""
    return os.environ.get("WASI_LSP_NODE") or shutil.which("node")


@cache
def node_version(node: str) -> tuple[int, ...] | None:
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.match(r"v(\d+)\.(\d+)\.(\d+)", out.strip())
    return tuple(int(g) for g in match.groups()) if match else None


def runner_spec(spec: RunSpec) -> dict:
    """The spec as the runner reads it: plain JSON, nothing node must interpret."""
    return {
        "wasm": str(spec.runtime.wasm),
        "argv": spec.argv,
        "env": dict(spec.env),
        "mounts": [{"host": str(m.host), "guest": m.guest, "read_only": m.read_only} for m in spec.mounts],
        "max_memory": spec.limits.max_memory,
        "timeout": spec.limits.timeout,
    }


def node_argv(spec: RunSpec, node: str = "node") -> list[str]:
    """The node command line; ``--no-warnings`` hides node:wasi's ExperimentalWarning."""
    return [node, "--no-warnings", str(RUNNER), json.dumps(runner_spec(spec))]
