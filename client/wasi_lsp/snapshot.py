"""``wasi-lsp runtime snapshot``: a runtime whose interpreter has already imported the server.

Most of a language server's cold start is importing (pygls, lsprotocol). A
WebAssembly instance's whole state is its memory, so Wizer can run those imports
once and write the memory out as a new module; the built runtime's C entry
point (``scripts/runtime/wasi_lsp_main.c``) exports the initialization function
and resumes the live interpreter in ``_start``.

A snapshot is only valid for what it was made with: the runtime, the guest
environment, the guest overlay and the mounts in order. The cache key holds
the first three; the mounts are recorded beside the module and compared on
every use (the guest compares the preopen names again itself, and refuses).
The environment, argv, seeds and clock are refreshed by the guest on resume;
the hash secret cannot be (every cached ``str`` hash depends on it), so a
snapshot is made, and runs, with ``PYTHONHASHSEED=0`` and says so in
``sys.flags``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from wasi_lsp import cache
from wasi_lsp.errors import WasiLspError
from wasi_lsp.runtime import Runtime
from wasi_lsp.spec import Mount, RunSpec

META = "snapshot.json"
INIT_FUNC = "wizer.initialize"
#: Mounts whose host side is a fresh private directory on every run: only their guest side must match.
SCRATCH_GUESTS = ("/tmp", "/dev")
#: Variables the snapshot adds to the run; the guest refuses a run where they differ.
SNAPSHOT_ENV = ("PYTHONHASHSEED", "WASI_LSP_PRELOAD")


@dataclass(frozen=True)
class Snapshot:
    root: Path
    meta: dict

    @property
    def wasm(self) -> Path:
        return self.root / "python.wasm"

    def runtime(self, base: Runtime) -> Runtime:
        return replace(base, name=f"{base.name} + snapshot [{','.join(self.meta['preload'])}]",
                       wasm=self.wasm, expected_sha256=self.meta["sha256"])


def supports_snapshots(runtime: Runtime) -> bool:
    """Only a runtime built with wasi-lsp's entry point exports the initialization function."""
    if runtime.pinned or runtime.stdlib is None:
        return False
    manifest = runtime.wasm.parent / "manifest.json"
    try:
        return "entry_point" in json.loads(manifest.read_text())["inputs"]
    except (OSError, ValueError, KeyError, TypeError):
        return False


def mount_record(mounts: tuple[Mount, ...]) -> list[list]:
    """What must be equal between snapshot and run: guest path, access, and host path unless scratch."""
    return [[m.guest, m.read_only, None if m.guest in SCRATCH_GUESTS else str(m.host)] for m in mounts]


def base_key(spec: RunSpec) -> str:
    """Runtime + environment + overlay (the mounts that carry code), independent of the preload list."""
    return cache.digest("snapshot", 1, spec.runtime.sha256(), mount_record(spec.mounts))


def parse_preload(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if not all(part.isidentifier() for part in n.split("."))]
    if not names or bad:
        raise WasiLspError(f"--preload {text!r}: expected module names separated by commas",
                           fix="e.g. --preload pygls,lsprotocol.types,rstls")
    return names


def create(spec: RunSpec, preload: list[str], *, say=print) -> Snapshot:
    """Run Wizer over the runtime with the spec's mounts and environment, importing ``preload``."""
    runtime = spec.runtime
    if not supports_snapshots(runtime):
        raise WasiLspError(
            f"the runtime {runtime.name} cannot be snapshotted: it exports no {INIT_FUNC}",
            fix="build one that does with wasi-lsp runtime build, then pass --runtime built:3.11",
        )
    folder = cache.cache_dir("snapshots") / base_key(spec)
    final = folder / cache.digest(preload)
    if (final / META).is_file():
        snap = Snapshot(final, json.loads((final / META).read_text()))
        say(f"up to date: {snap.wasm}")
        return snap
    from wasi_lsp.hosts.wasmtime_cli import find_wasmtime

    wasmtime = find_wasmtime()
    if wasmtime is None:
        raise WasiLspError("snapshots need the wasmtime CLI (its wizer command)", fix="pip install 'wasi-lsp[cli]'")
    env = {**spec.env, **snapshot_env(preload)}
    env.pop("WASI_LSP_CWD", None)
    staging = cache.staging_dir(final)
    command = [wasmtime, "wizer", "-S", "cli", "-f", INIT_FUNC, "-o", str(staging / "python.wasm")]
    for mount in spec.mounts:
        command += ["--dir", f"{mount.host}::{mount.guest}"]
    for name, value in sorted(env.items()):
        command += ["--env", f"{name}={value}"]
    command.append(str(runtime.wasm))
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0 or not (staging / "python.wasm").is_file():
        import shutil

        shutil.rmtree(staging, ignore_errors=True)
        raise WasiLspError(
            f"wizer could not snapshot {runtime.wasm} with --preload {','.join(preload)} "
            f"(exit {done.returncode}):\n{(done.stderr or done.stdout).strip()[-2000:]}",
            fix="check that each preloaded module imports in wasi-lsp run, and that it leaves no file open",
        )
    os.symlink(runtime.stdlib.parent, staging / "lib")
    meta = {
        "preload": preload,
        "runtime": str(runtime.wasm),
        "runtime_sha256": runtime.sha256(),
        "mounts": mount_record(spec.mounts),
        "env": env,
        "sha256": cache.file_sha256(staging / "python.wasm"),
        "seconds": round(time.monotonic() - started, 1),
    }
    cache.atomic_write_json(staging / META, meta)
    cache.publish_dir(staging, final, marker=META)
    say(f"snapshot: {final / 'python.wasm'} ({meta['seconds']} s)")
    return Snapshot(final, meta)


def snapshot_env(preload: list[str]) -> dict[str, str]:
    return {"PYTHONHASHSEED": "0", "WASI_LSP_PRELOAD": ",".join(preload)}


def check_mounts(snap: Snapshot, spec: RunSpec) -> None:
    """Refuse a run whose mounts do not start with exactly the snapshot's."""
    recorded = snap.meta["mounts"]
    actual = mount_record(spec.mounts)
    if actual[: len(recorded)] != recorded:
        raise WasiLspError(
            f"the snapshot {snap.root} was made with mounts {recorded}, but this run mounts "
            f"{actual[: len(recorded)]} first; running it would resolve paths through the wrong directories",
            fix="run without the snapshot, or make a new one: wasi-lsp runtime snapshot --preload ...",
        )


def for_run(spec: RunSpec, snap: Snapshot) -> RunSpec:
    """``spec`` running on ``snap``: same mounts, plus the variables the snapshot was made with."""
    check_mounts(snap, spec)
    return replace(spec, runtime=snap.runtime(spec.runtime),
                   env={**spec.env, **snapshot_env(snap.meta["preload"])})


def matching(spec: RunSpec) -> RunSpec:
    """``spec`` on the newest snapshot made for its runtime, environment and mounts, if there is one."""
    if not supports_snapshots(spec.runtime):
        return spec
    folder = cache.cache_root() / "snapshots" / base_key(spec)
    found = sorted(folder.glob(f"*/{META}"), key=lambda p: p.stat().st_mtime, reverse=True) if folder.is_dir() else []
    for meta in found:
        snap = Snapshot(meta.parent, json.loads(meta.read_text()))
        return for_run(spec, snap)
    return spec


# -- CLI ------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from wasi_lsp.cli import sandbox_options

    sandbox_options(parser)
    parser.add_argument("--preload", required=True, metavar="MODULES",
                        help="modules to import before the snapshot, comma-separated")
    parser.add_argument("server", nargs="?",
                        help="the server it is for (default: [tool.wasi-lsp] server): selects its environment")


def run(options) -> int:
    from wasi_lsp import commands, sandbox
    from wasi_lsp.overlay import guest_requirements

    project = commands.project_config(options)
    server = options.server or project.get("server")
    grants = commands.grants_from(options, project, guest_requirements(server) if server else [])
    spec, _env = sandbox.build(grants, [])
    snap = create(spec, parse_preload(options.preload), say=lambda text: print(text, file=sys.stderr))
    print(snap.wasm)
    return 0
