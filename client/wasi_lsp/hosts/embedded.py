"""The default host: wasmtime embedded in this Python process.

No external binary and no second process: the CLI process itself becomes the
WASI host, so stdio is inherited directly and the exit code is the guest's.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from pathlib import Path
from typing import cast

from wasi_lsp.aot import engine, load_module
from wasi_lsp.errors import GuestLimitExceeded, WasiLspError, wall_clock_exceeded
from wasi_lsp.spec import RunSpec

#: How long after the wall-clock limit a guest blocked in a host call is given.
KILL_GRACE = 1.0


class EmbeddedWasmtime:
    name = "wasmtime"

    def unavailable_reason(self) -> str | None:
        try:
            import wasmtime  # noqa: F401
        except ImportError:
            return "the wasmtime package is not installed (pip install wasmtime)"
        return None

    def run(self, spec: RunSpec) -> int:
        return _run(spec, stdio=None)


def run_captured(spec: RunSpec) -> tuple[int, str, str]:
    """Run with stdin empty and stdout/stderr captured; for probes and build steps."""
    with tempfile.TemporaryDirectory(prefix="wasi-lsp-capture-") as tmp:
        out, err = Path(tmp, "out"), Path(tmp, "err")
        code = _run(spec, stdio=(out, err))
        return code, out.read_text(errors="replace"), err.read_text(errors="replace")


def _run(spec: RunSpec, stdio: tuple[Path, Path] | None) -> int:
    import wasmtime

    interruptible = bool(spec.limits.timeout)  # only a wall-clock limit needs epoch checks compiled in
    module = load_module(spec.runtime, interruptible)
    eng = engine(interruptible)
    store = wasmtime.Store(eng)
    if spec.limits.max_memory:
        store.set_limits(memory_size=spec.limits.max_memory)
    if interruptible:
        store.set_epoch_deadline(1)  # the epoch moves only when the wall-clock limit fires

    wasi = wasmtime.WasiConfig()
    wasi.argv = spec.argv
    wasi.env = list(spec.env.items())
    if stdio is None:
        wasi.inherit_stdin()
        wasi.inherit_stdout()
        wasi.inherit_stderr()
    else:
        wasi.stdout_file = str(stdio[0])
        wasi.stderr_file = str(stdio[1])
    for mount in spec.mounts:
        if not mount.host.is_dir():
            raise WasiLspError(f"cannot mount {mount.host}: not a directory")
        wasi.preopen_dir(str(mount.host), mount.guest, fs_mutable=not mount.read_only)
    store.set_wasi(wasi)

    linker = wasmtime.Linker(eng)
    linker.define_wasi()
    instance = linker.instantiate(store, module)
    start = cast(wasmtime.Func, instance.exports(store)["_start"])

    fired, done = threading.Event(), threading.Event()
    timer = None
    timeout = spec.limits.timeout
    if timeout:
        def expire() -> None:
            fired.set()
            eng.increment_epoch()
            if stdio is None:
                _stop_if_blocked(done, timeout)

        timer = threading.Timer(timeout, expire)
        timer.daemon = True
        timer.start()
    try:
        start(store)
        return 0
    except wasmtime.ExitTrap as exit_:
        return exit_.code
    except wasmtime.Trap as trap:
        if fired.is_set() and timeout:
            raise wall_clock_exceeded(timeout) from None
        raise WasiLspError(f"the guest trapped: {_last_line(trap)}") from None
    except wasmtime.WasmtimeError as error:
        raise WasiLspError(f"the guest failed: {_first_line(error)}") from None
    finally:
        done.set()
        if timer is not None:
            timer.cancel()
        _report_memory_limit(spec, instance, store)


def _stop_if_blocked(done: threading.Event, timeout: float) -> None:
    """End the CLI process when the guest sits in a host call past its limit.

    The epoch only interrupts wasm code: a guest waiting in a blocking read
    (an idle language server) would outlive its limit until its input closed.
    With inherited stdio this process is nothing but the guest's host, so it
    reports the limit and exits like a fired limit does.
    """
    if done.wait(KILL_GRACE):
        return
    print(f"wasi-lsp: error: {wall_clock_exceeded(timeout)}", file=sys.stderr, flush=True)
    os._exit(GuestLimitExceeded.exit_code)


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _last_line(error: Exception) -> str:
    """A trap's cause comes last ("wasm trap: ..."); its first line is only "error while executing at"."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def _report_memory_limit(spec: RunSpec, instance, store) -> None:
    """Say so when the guest's memory reached its limit: its MemoryError alone is easy to misread."""
    limit = spec.limits.max_memory
    if not limit:
        return
    try:
        pages = instance.exports(store)["memory"].size(store)
    except Exception:
        return
    if pages * 65536 + 16 * 65536 >= limit:
        print(
            f"wasi-lsp: the guest reached its memory limit of {limit // (1 << 20)} MiB "
            f"(--max-memory); allocations past it failed",
            file=sys.stderr,
        )
