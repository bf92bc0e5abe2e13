"""Threads, thread pools, processes and asyncio on WASI's single thread.

WASI Python cannot start a thread ("can't start new thread"), has no
``concurrent.futures.thread`` and no ``multiprocessing``, and
``asyncio.new_event_loop()`` fails (errno 58: no ``socket.socketpair``). This
shim replaces them with cooperative equivalents sharing one scheduler
(:mod:`wasi_lsp_guest.cooperative`). The semantics:

* **Work submitted** with ``Thread.start()``, ``_thread.start_new_thread``, ``ThreadPoolExecutor.submit``,
  ``loop.run_in_executor``, ``asyncio.to_thread`` or
  ``multiprocessing.pool.ThreadPool.apply_async`` runs, in submission order, at
  the next idle point: when the asyncio loop has no ready callbacks (in a pygls
  server: between messages), or earlier when something waits. It runs as its
  thread: ``current_thread()``, ``get_ident()``, ``RLock`` ownership and
  ``threading.local`` tell cooperative threads apart.
* **Every blocking wait is an idle point**: ``time.sleep``, ``Lock``/``RLock``
  ``acquire`` (blocking or with a timeout), ``Condition.wait``/``wait_for`` and
  all built on them (``Event``, ``Semaphore``, ``BoundedSemaphore``,
  ``Barrier``, ``queue.Queue`` ``get``/``put``/``join``, ``SimpleQueue``,
  ``Future.result``, ``concurrent.futures.wait``/``as_completed``), and
  ``Thread.join``. It runs queued work and due timers until its condition
  holds or its timeout passes on the clock; with nothing runnable it reads and
  dispatches the next client message (so a worker may wait for a response to
  its own request) or sleeps until the next timer or its timeout. One
  primitive does it (``Scheduler.block``); ``threading.Lock`` is a Python lock
  that waits through it, so everything built on a lock inherits it.
* **A wait nothing could ever satisfy** (nothing runnable, no timer, no
  timeout, no input) raises ``WaitDeadlock`` naming the wait, its caller's
  line, its thread and the cause, instead of hanging.
* **Threads take turns as natively.** On the built runtime (the default) each
  piece of queued work runs as a *fiber* (``_wasi_fibers``, compiled into it):
  when it waits, its frames leave the C stack intact, the wait that resumed it
  carries on, and any later wait resumes the thread once its condition holds or
  its timeout passes. So threads may take turns any number of times: ping-pong,
  a bounded queue filled faster than drained, a ``Barrier`` reused round after
  round, long-lived workers fed in batches, an asyncio loop in a thread of its
  own. A thread's wait leaves the stack only when the thread's frames form one
  chain: a wait called back from C (inside ``map()``, ``sorted(key=...)``, a
  class's ``__init__``, a generator driven by a C iterator) cannot, and runs
  other work on top of itself, as every wait does on the pinned runtime, which
  has no fibers:
* **On one C stack** (those waits, and the pinned runtime), a thread started by
  a wait runs *on top of* that wait: the waiter resumes only when the thread
  returns, or blocks for good, in which case the thread is *parked* (unwound;
  later waits that need it name it in their ``WaitDeadlock``). So threads that
  must take turns more than once end in ``WaitDeadlock``, and a timed wait that
  started a sleeping thread returns when that thread does: late, never early. A
  thread's ``time.sleep`` while it holds a lock, or in its first three sleeps,
  only pauses (a thread started on top of it would likely want that lock); later
  sleeps run other work (polling). At most 24 threads nest; deeper would
  overflow WASI's C stack.
* **A timer** (``threading.Timer``, ``loop.call_later``) fires at the first
  idle point after its delay; it is never early, and late by as long as the
  work running when it fell due. ``Timer.cancel()`` before that point prevents it.
* **asyncio** gets a loop without a self-pipe: ``asyncio.run``,
  ``new_event_loop``, ``get_event_loop``, tasks, futures, ``sleep``,
  ``call_later``, ``run_in_executor`` and ``to_thread`` work; sockets and pipes
  raise NotImplementedError. A coroutine that blocks (rather than ``await``)
  runs threads and timers but not other callbacks of its own loop. A loop
  waiting in its idle point is stepped by waits running above it (a thread it
  started, an in-guest child), as a thread blocked in ``select`` wakes by itself.
* **Child processes** whose program is the guest's own Python
  (``subprocess.Popen``/``run``, ``asyncio.create_subprocess_exec``) run
  in-guest as cooperative work with their own process state; any other
  program raises ``OSError`` (errno 58) naming WASI's limit. What a child
  shares with its parent and what it does not: :mod:`wasi_lsp_guest.cooperative.children`.
* **multiprocessing** offers ``cpu_count()`` (1), ``current_process()``, locks,
  queues and the cooperative ``ThreadPool`` (also as ``multiprocessing.dummy``);
  ``Process``, ``Pool`` and ``Manager`` raise ``ProcessesUnavailable`` naming
  the cause.
* **At exit**, queued work runs and non-daemon threads (and timers) are waited
  for, as ``threading`` does; daemon threads still blocked are dropped.
* **Cannot be done**: preempting running code. A thread runs until it waits; a
  CPU loop that never waits holds the one thread.

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

    time.sleep = sleep  # type: ignore[assignment]
    from wasi_lsp_guest import pygls_adapter

    pygls_adapter.install()
