"""Threads, thread pools, processes and asyncio on WASI's single thread.

WASI Python cannot start a thread ("can't start new thread"), has no
``concurrent.futures.thread`` and no ``multiprocessing``, and
``asyncio.new_event_loop()`` fails (errno 58: no ``socket.socketpair``). This
shim replaces them with cooperative equivalents sharing one scheduler
(:mod:`wasi_lsp_guest.cooperative`). The semantics:

* **Work submitted** with ``ThreadPoolExecutor.submit``, ``Thread.start()``,
  ``loop.run_in_executor`` or ``multiprocessing.pool.ThreadPool.apply_async``
  runs, in submission order and to completion, at the next idle point: when the
  asyncio loop has no ready callbacks (in a pygls server: between messages), or
  earlier when something waits on it.
* **Waiting** (``Future.result()``, ``Thread.join()``, ``Event.wait()``,
  ``AsyncResult.get()``) does not block: it runs queued work and due timers
  until its condition holds; with nothing runnable it reads and dispatches the
  next client message (so a worker may wait for a response to its own request),
  or sleeps until the next timer. A wait that nothing could ever satisfy raises
  instead of hanging. Such waits do not run asyncio callbacks: an ``async``
  handler must ``await`` rather than block.
* **A timer** (``threading.Timer``, ``loop.call_later``) fires at the first idle
  point after its delay; it is never early, and late by as long as the handler
  running when it fell due. ``Timer.cancel()`` before that point prevents it.
* **asyncio** gets a loop without a self-pipe: ``asyncio.run``,
  ``new_event_loop``, ``get_event_loop``, tasks, futures, ``sleep``,
  ``call_later`` and ``run_in_executor`` work; sockets and pipes raise
  NotImplementedError.
* **Child processes** whose program is the guest's own Python
  (``subprocess.Popen``/``run``, ``asyncio.create_subprocess_exec``) run
  in-guest as cooperative work with their own process state; any other
  program raises ``OSError`` (errno 58) naming WASI's limit. What a child
  shares with its parent and what it does not: :mod:`wasi_lsp_guest.cooperative.children`.
* **multiprocessing** offers ``cpu_count()`` (1), ``current_process()``, locks,
  queues and the cooperative ``ThreadPool`` (also as ``multiprocessing.dummy``);
  ``Process``, ``Pool`` and ``Manager`` raise ``ProcessesUnavailable`` naming
  the cause.
* **At exit**, work already runnable is run, as a process waits for its threads;
  timers still pending are dropped.
* ``time.sleep`` sleeps with ``select``: under Node's WASI the real one never
  returns. It runs no other work (real threads would run meanwhile; nothing
  here can).

The pygls adapter is installed here too, because its main loop is this
scheduler's idle point: see :mod:`wasi_lsp_guest.pygls_adapter`.
"""

from __future__ import annotations

import atexit
import sys

from wasi_lsp_guest.cooperative.hooks import after_import, provide
from wasi_lsp_guest.cooperative.scheduler import SCHEDULER, sleep

_PROVIDED = {
    "concurrent.futures.thread": "wasi_lsp_guest.cooperative.futures",
    "multiprocessing": "wasi_lsp_guest.cooperative.processes",
    "multiprocessing.pool": "wasi_lsp_guest.cooperative.process_pool",
    "multiprocessing.dummy": "wasi_lsp_guest.cooperative.dummy",
}


def _patch_threading(module) -> None:
    from wasi_lsp_guest.cooperative import threads

    threads.install()


def _patch_queue(module) -> None:
    from wasi_lsp_guest.cooperative.locks import install_queue

    install_queue(module)


def _patch_asyncio(module) -> None:
    from wasi_lsp_guest.cooperative import loop

    loop.install()


def _patch_subprocess(module) -> None:
    from wasi_lsp_guest.cooperative import popen

    popen.install(module)


def _at_exit() -> None:
    """Run the work already queued, then wait for non-daemon threads, as a process exits."""
    SCHEDULER.drain()
    if "threading" in sys.modules:
        from wasi_lsp_guest.cooperative.threads import wait_for_threads

        wait_for_threads()


def install() -> None:
    for name, target in _PROVIDED.items():
        provide(name, target)
    after_import("subprocess", _patch_subprocess)
    after_import("threading", _patch_threading)
    after_import("queue", _patch_queue)
    after_import("asyncio", _patch_asyncio)
    atexit.register(_at_exit)
    import time

    time.sleep = sleep
    from wasi_lsp_guest import pygls_adapter

    pygls_adapter.install()
