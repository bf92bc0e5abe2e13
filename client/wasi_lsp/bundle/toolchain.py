"""The node side of bundling: pinned npm packages, installed once per lockfile.

The extension template's ``package-lock.json`` pins everything (esbuild,
vsce, the VS Code WASI libraries, the stand-in's WASI shim). ``npm ci``
installs it into the cache, in a directory named by the lockfile's hash, so
a changed lockfile gets a fresh install and an unchanged one costs nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from wasi_lsp import cache
from wasi_lsp.errors import WasiLspError

TEMPLATE = Path(__file__).resolve().parent / "extension"
STANDIN = Path(__file__).resolve().parent / "standin"
#: Node that runs esbuild, vsce and the stand-in; vsce 3.9 needs 20 or newer.
MIN_NODE = 20


def _which(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        raise WasiLspError(
            f"`{tool}` is not on PATH; bundling a VS Code extension needs Node.js {MIN_NODE}+ with npm",
            fix=f"install Node.js {MIN_NODE} or newer (e.g. apt-get install nodejs npm) and run again",
        )
    return found


def node() -> str:
    path = _which("node")
    version = subprocess.run([path, "--version"], capture_output=True, text=True).stdout.strip()
    try:
        major = int(version.lstrip("v").split(".")[0])
    except ValueError:
        major = 0
    if major < MIN_NODE:
        raise WasiLspError(f"node {version or '(unknown version)'} is too old",
                           fix=f"install Node.js {MIN_NODE} or newer")
    return path


def ensure_toolchain() -> Path:
    """The directory holding the template's ``node_modules``, installed with ``npm ci`` if needed."""
    lock = TEMPLATE / "package-lock.json"
    key = cache.digest((TEMPLATE / "package.json").read_bytes().hex(), lock.read_bytes().hex())
    final = cache.cache_dir("npm") / key
    cache.build_once(final, (final / "node_modules" / ".package-lock.json").is_file, lambda: _npm_ci(final),
                     "the extension toolchain (npm ci)")
    return final


def _npm_ci(final: Path) -> None:
    node()
    npm = _which("npm")
    cache.sweep_partials(final.parent)
    with cache.staged(final) as staging:
        for name in ("package.json", "package-lock.json"):
            shutil.copy2(TEMPLATE / name, staging / name)
        proc = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=staging, capture_output=True, text=True, env={**os.environ, "npm_config_update_notifier": "false"},
        )
        if proc.returncode != 0:
            raise WasiLspError(
                f"npm ci failed for the pinned extension toolchain (exit {proc.returncode}):\n{proc.stderr[-2000:]}",
                fix="check that the npm registry is reachable (or that npm's cache holds the packages)",
            )


def run_node(args: list[str], *, what: str, cwd: Path | None = None, fix: str | None = None) -> str:
    """Run ``node ARGS``; a failure is one error naming the step."""
    proc = subprocess.run([node(), *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise WasiLspError(f"{what} failed (exit {proc.returncode}):\n{(proc.stdout + proc.stderr)[-3000:]}", fix=fix)
    return proc.stdout


def bin_script(toolchain: Path, package: str, relative: str) -> str:
    """A package's CLI entry as a path node can run (npm's .bin shims are shell scripts)."""
    return str(toolchain / "node_modules" / package / relative)
