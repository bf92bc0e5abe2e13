"""``wasi-lsp runtime snapshot``: a runtime whose interpreter has already imported the server.

Most of a language server's cold start is importing (pygls, lsprotocol). A
WebAssembly instance's whole state is its memory, so Wizer can run those imports
once and write the memory out as a new module; the built runtime's C entry
point (``scripts/runtime/wasi_lsp_main.c``) exports the initialization function
and resumes the live interpreter in ``_start``.

A snapshot is only valid for what it was made with: the runtime, the guest
environment, the guest overlay and the mounts in order. Snapshots are filed
by the first three and keyed by preload list and mounts; a run may add mounts
after the snapshot's, never change or reorder them (the host compares the
recorded mounts, and the guest compares the preopen names again itself).
The environment, argv, seeds and clock are refreshed by the guest on resume;
the hash secret cannot be (every cached ``str`` hash depends on it), so a
snapshot is made, and runs, with ``PYTHONHASHSEED=0`` and says so in
``sys.flags``.
"""

from __future__ import annotations

import json
import os
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
#: Variables that shaped the import state (the guest's STRUCTURAL list, less the two the snapshot adds itself,
#: PYTHONHASHSEED and WASI_LSP_PRELOAD): a run must repeat them.
IMPORT_ENV = ("PYTHONPATH", "PYTHONHOME", "PYTHONDONTWRITEBYTECODE", "WASI_LSP_SITE", "WASI_LSP_PREPEND")


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


def import_env(spec: RunSpec) -> dict[str, str | None]:
    return {name: spec.env.get(name) for name in IMPORT_ENV}


def misfit(snap: Snapshot, spec: RunSpec) -> str | None:
    """Why ``spec`` cannot run on ``snap``, or None: a run mounts what the snapshot mounted, in order
    (maybe more after), with the same import variables."""
    recorded = snap.meta.get("mounts", [])
    actual = mount_record(spec.mounts)[: len(recorded)]
    if actual != recorded:
        return (f"was made with mounts {recorded}, but this run mounts {actual} first; "
                "running it would resolve paths through the wrong directories")
    made_with = snap.meta.get("env", {})
    changed = sorted(name for name, value in import_env(spec).items() if made_with.get(name) != value)
    if changed:
        return (f"was made with another import path ({', '.join(changed)}); "
                "its imported modules could differ from what this run would import")
    return None


def code_identity(spec: RunSpec) -> dict:
    """Where a snapshot's imported code came from: the runtime, and what the environment and overlay hold.

    Environments are immutable once built, but a cleared cache rebuilds one at
    the same path from whatever the index then offers; its record of installed
    distributions tells the two apart.
    """
    from wasi_lsp.env import GUEST_ENV
    from wasi_lsp.overlay import GUEST_OVERLAY

    hosts = {m.guest: m.host for m in spec.mounts}
    record = hosts.get(GUEST_ENV) and hosts[GUEST_ENV] / "wasi-lsp-env.json"
    return {
        "runtime": spec.runtime.sha256(),
        "env": cache.file_sha256(record) if record and record.is_file() else None,
        "overlay": str(hosts.get(GUEST_OVERLAY)),
    }


def folder(identity: dict) -> Path:
    """Where every snapshot of one :func:`code_identity` is kept."""
    return cache.cache_root() / "snapshots" / cache.digest("snapshot", 2, identity)


def parse_preload(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if not all(part.isidentifier() for part in n.split("."))]
    if not names or bad:
        raise WasiLspError(f"--preload {text!r}: expected module names separated by commas",
                           fix="e.g. --preload pygls,lsprotocol.types,rstls")
    return names


def create(spec: RunSpec, preload: list[str], *, server: str | None = None, say=print,
           identity: dict | None = None) -> Snapshot:
    """Run Wizer over the runtime with the spec's mounts and environment, importing ``preload``."""
    runtime = spec.runtime
    if not supports_snapshots(runtime):
        raise WasiLspError(
            f"the runtime {runtime.name} cannot be snapshotted: it exports no {INIT_FUNC}",
            fix="build one that does with wasi-lsp runtime build, then pass --runtime built:3.11",
        )
    identity = identity or code_identity(spec)
    final = folder(identity) / cache.digest(preload, mount_record(spec.mounts), import_env(spec))
    if not (final / META).is_file():
        with cache.building(final, f"the snapshot with --preload {','.join(preload)}"):
            if not (final / META).is_file():
                return _create(spec, preload, final, server=server, say=say, identity=identity)
    snap = Snapshot(final, json.loads((final / META).read_text()))
    say(f"up to date: {snap.wasm}")
    return snap


def _create(spec: RunSpec, preload: list[str], final: Path, *, server: str | None, say, identity: dict) -> Snapshot:
    runtime = spec.runtime
    from wasi_lsp.hosts.wasmtime_cli import find_wasmtime

    wasmtime = find_wasmtime()
    if wasmtime is None:
        raise WasiLspError("snapshots need the wasmtime CLI (its wizer command)", fix="pip install 'wasi-lsp[cli]'")
    env = {**spec.env, **snapshot_env(preload)}
    env.pop("WASI_LSP_CWD", None)
    import subprocess  # here, not at the top: `serve` imports this module on every start

    with cache.staged(final, marker=META) as staging:
        command = [wasmtime, "wizer", "-S", "cli", "-f", INIT_FUNC, "-o", str(staging / "python.wasm")]
        for mount in spec.mounts:
            command += ["--dir", f"{mount.host}::{mount.guest}"]
        for name, value in sorted(env.items()):
            command += ["--env", f"{name}={value}"]
        command.append(str(runtime.wasm))
        started = time.monotonic()
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0 or not (staging / "python.wasm").is_file():
            raise WasiLspError(
                f"wizer could not snapshot {runtime.wasm} with --preload {','.join(preload)} "
                f"(exit {done.returncode}):\n{(done.stderr or done.stdout).strip()[-2000:]}",
                fix="check that each preloaded module imports in wasi-lsp run, and that it leaves no file open",
            )
        assert runtime.stdlib is not None  # checked by snapshottable()
        os.symlink(runtime.stdlib.parent, staging / "lib")
        meta = {
            "preload": preload,
            "server": server,
            "identity": identity,
            "runtime": str(runtime.wasm),
            "mounts": mount_record(spec.mounts),
            "env": env,
            "sha256": cache.file_sha256(staging / "python.wasm"),
            "seconds": round(time.monotonic() - started, 1),
        }
        cache.atomic_write_json(staging / META, meta)
    say(f"snapshot: {final / 'python.wasm'} ({meta['seconds']} s)")
    return Snapshot(final, meta)


def snapshot_env(preload: list[str]) -> dict[str, str]:
    return {"PYTHONHASHSEED": "0", "WASI_LSP_PRELOAD": ",".join(preload)}


def check_fits(snap: Snapshot, spec: RunSpec) -> None:
    reason = misfit(snap, spec)
    if reason:
        raise WasiLspError(f"the snapshot {snap.root} {reason}",
                           fix="run without the snapshot, or make a new one: wasi-lsp runtime snapshot --preload ...")


def for_run(spec: RunSpec, snap: Snapshot) -> RunSpec:
    """``spec`` running on ``snap``: same mounts, plus the variables the snapshot was made with."""
    check_fits(snap, spec)
    return _on(spec, snap)


def _on(spec: RunSpec, snap: Snapshot) -> RunSpec:
    return replace(spec, runtime=snap.runtime(spec.runtime),
                   env={**spec.env, **snapshot_env(snap.meta["preload"])})


def _snapshots(root: Path) -> list[Snapshot]:
    """The snapshots under ``root``, newest first."""
    metas = sorted(root.glob(f"**/{META}"), key=lambda p: p.stat().st_mtime, reverse=True) if root.is_dir() else []
    found = []
    for meta in metas:
        try:
            found.append(Snapshot(meta.parent, json.loads(meta.read_text())))
        except (OSError, ValueError):
            continue
    return found


def _pick(fitting: list[Snapshot], preload: list[str] | None, server: str | None) -> Snapshot | None:
    """With exactly ``preload`` when given, else the newest, preferring one made for ``server``
    (any fits: extra imports are only unused)."""
    found = [snap for snap in fitting if preload is None or snap.meta.get("preload") == preload]
    return next((snap for snap in found if snap.meta.get("server") == server), found[0] if found else None)


def default_preload(server: str | None, guest_args) -> list[str]:
    """What to pre-import when no list is configured: pygls, lsprotocol's types and the module serve imports."""
    from wasi_lsp.overlay import GUEST_PRELOAD

    if server in GUEST_PRELOAD:
        return GUEST_PRELOAD[server]
    args = list(guest_args)
    target = args[2] if args[:2] == ["-m", "wasi_lsp_guest.serve"] and len(args) > 2 else ""
    module, colon, _ = target.partition(":")
    return ["pygls", "lsprotocol.types", *([module] if colon and module else [])]


#: What an automatic snapshot pre-imports when the served module itself cannot be (it lives
#: in a directory mounted only for this run): still the bulk of a pygls server's start.
BASE_PRELOAD = ["pygls", "lsprotocol.types"]
FAILED = "failed.json"


def base_spec(spec: RunSpec) -> RunSpec:
    """``spec`` with only the mounts wasi-lsp itself makes (stdlib, environment, overlay, /tmp, /dev),
    unless its import path reaches into another mount.

    A snapshot made with these fits every later run of the same server and
    environment, whatever workspace directories that run adds after them.
    """
    from wasi_lsp.env import GUEST_ENV
    from wasi_lsp.overlay import GUEST_OVERLAY

    own = {spec.runtime.stdlib_guest, GUEST_ENV, GUEST_OVERLAY, *SCRATCH_GUESTS}
    count = 0
    while count < len(spec.mounts) and spec.mounts[count].guest in own:
        count += 1
    base = replace(spec, mounts=spec.mounts[:count])
    # An import path into a directory the snapshot would not mount is cached as "no such
    # directory" by the snapshot's importer and stays so after resume: then use every mount.
    return base if _import_paths_within(spec, count) else spec


def _import_paths_within(spec: RunSpec, count: int) -> bool:
    """Whether each import path entry is served by one of the first ``count`` mounts: the innermost
    mount holding it (a host /tmp directory is mounted inside the scratch /tmp) must be one of them."""
    entries = [e for name in ("PYTHONPATH", "WASI_LSP_PREPEND") for e in (spec.env.get(name) or "").split(":") if e]
    for entry in entries:
        holders = [(len(m.guest), i) for i, m in enumerate(spec.mounts)
                   if entry == m.guest or entry.startswith(m.guest.rstrip("/") + "/")]
        if not holders or max(holders)[1] >= count:
            return False
    return True


def for_serve(spec: RunSpec, *, mode: str, preload: list[str] | None, server: str | None, say,
              make: bool = True) -> RunSpec:
    """The spec ``serve`` runs: on a matching snapshot, made now when there is none.

    The wanted preload list is the configured one, else :func:`default_preload`.
    ``auto`` (the default) uses the snapshot of that list, else any that fits,
    and otherwise makes one, with only wasi-lsp's own mounts so that it fits
    every workspace; making it never fails a start: on any error ``say`` gets
    one line, the start goes on plain, and that snapshot is not tried again
    (a failure record is kept beside the snapshots). ``require`` makes the
    wanted one with this run's mounts and fails when it cannot; ``off`` never
    uses one. Without ``make`` (``--print-capabilities``), ``auto`` only looks.
    """
    from wasi_lsp.commands.options import SNAPSHOT_MODES as MODES

    if mode not in MODES:
        raise WasiLspError(f"snapshot mode {mode!r} is not one of {', '.join(MODES)}",
                           fix="use --snapshot auto|require|off (or snapshot = ... in [tool.wasi-lsp])")
    if mode == "off":
        return spec
    if not supports_snapshots(spec.runtime):
        if mode == "require":
            raise WasiLspError(
                f"--snapshot require: the runtime {spec.runtime.name} cannot be snapshotted "
                f"(it exports no {INIT_FUNC})",
                fix="serve with --runtime built:3.11 (wasi-lsp runtime build makes it), or --snapshot auto",
            )
        return spec
    identity = code_identity(spec)
    fitting = [snap for snap in _snapshots(folder(identity)) if misfit(snap, spec) is None]
    wanted = preload or default_preload(server, spec.args)
    snap = _pick(fitting, wanted, server)
    if snap is None and mode == "require":
        snap = create(spec, wanted, server=server, say=say, identity=identity)
    elif snap is None and make:
        snap = _auto_create(spec, wanted, server, identity, say, configured=bool(preload))
    elif snap is None:
        snap = _pick(fitting, None, server)
        stale = None if snap else _stale_note(identity, server)
        if stale:
            say(f"{stale}: this start is plain; the next real start makes a new one")
    if snap is None:
        return spec
    return _on(spec, snap)


def _auto_create(spec: RunSpec, wanted: list[str], server: str | None, identity: dict, say,
                 configured: bool) -> Snapshot | None:
    """Make the snapshot ``auto`` wants, or say in one line why this start is plain."""
    from wasi_lsp.hosts.wasmtime_cli import find_wasmtime

    base = base_spec(spec)
    lists = [wanted] if configured or wanted == BASE_PRELOAD else [wanted, BASE_PRELOAD]
    stale = _stale_note(identity, server)
    wizer = find_wasmtime()  # part of a failure's key: installing the wasmtime CLI retries
    for attempt in lists:
        key = cache.digest(attempt, mount_record(base.mounts), import_env(base), wizer)
        failed = folder(identity) / f"{key}.{FAILED}"
        if failed.is_file():
            continue  # said once when it failed; a new environment or runtime changes the folder
        try:
            snap = create(base, attempt, server=server, say=lambda text: None, identity=identity)
        except Exception as error:  # noqa: BLE001 - a snapshot is an optimization: never fail a start for it
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            cache.atomic_write_json(failed, {"preload": attempt, "error": str(error)[-2000:]})
            if attempt is lists[-1]:
                say(f"wasi-lsp: no snapshot for this server ({reason}); starting without one "
                    f"(details: {failed})")
            continue
        if misfit(snap, spec) is None:
            if stale:
                say(f"{stale}; made a new one")
            return snap
    return None


def _stale_note(identity: dict, server: str | None) -> str | None:
    if not server:
        return None
    for snap in _snapshots(cache.cache_root() / "snapshots"):
        old = snap.meta.get("identity") or {}
        if snap.meta.get("server") != server or old.get("runtime") != identity["runtime"]:
            continue
        changed = [what for what in ("env", "overlay") if old.get(what) != identity[what]] or ["mounts or import path"]
        return (f"wasi-lsp: the snapshot {snap.root} for {server} no longer matches "
                f"(its {' and '.join(changed)} changed)")
    return None


def configured_preload(options, project) -> list[str] | None:
    """``--preload``, else ``preload`` in ``[tool.wasi-lsp]`` (a list or a comma-separated string)."""
    text = getattr(options, "preload", None) or project.get("preload")
    if not text:
        return None
    return parse_preload(text if isinstance(text, str) else ",".join(map(str, text)))
