"""Child-process hosts: start the host program and pass termination on to it.

``wasi-lsp serve`` is what an editor starts and later stops with SIGTERM (or
SIGHUP when it goes away). A child host (the wasmtime CLI, node) must get the
same signal, or it outlives the editor's server process.
"""

from __future__ import annotations

import signal
import subprocess
from contextlib import contextmanager, suppress

FORWARDED = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


@contextmanager
def forwarding_signals(proc: subprocess.Popen):
    """While the block runs, deliver termination signals to ``proc`` as well."""

    def forward(signum, _frame):
        with suppress(ProcessLookupError):
            proc.send_signal(signum)

    previous = {}
    for signum in FORWARDED:
        with suppress(ValueError):  # not the main thread: nothing to install
            previous[signum] = signal.signal(signum, forward)
    try:
        yield proc
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def run_child(command: list[str], **popen) -> int:
    """Run ``command`` with inherited stdio until it exits; return its exit code."""
    proc = subprocess.Popen(command, **popen)
    with forwarding_signals(proc):
        while True:
            try:
                return proc.wait()
            except KeyboardInterrupt:
                continue  # SIGINT was forwarded; wait for the child to finish
