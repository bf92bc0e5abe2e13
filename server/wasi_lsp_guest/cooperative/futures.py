"""``concurrent.futures.thread`` for WASI: a ThreadPoolExecutor whose workers are scheduler turns.

The guest's stdlib has no ``concurrent.futures.thread``; this module is served
under that name. Each task runs as the executor's worker thread (one per
executor: tasks run one after another). Waiting on its futures
(``result()``, ``wait()``, ``as_completed()``) needs nothing here: they wait on
``threading.Condition``, whose lock is cooperative (:mod:`.locks`).
"""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import _base

from wasi_lsp_guest.cooperative.scheduler import SCHEDULER, Parked, Shutdown
from wasi_lsp_guest.cooperative.threads import run_as_thread

_COUNTER = itertools.count()

__all__ = ["ThreadPoolExecutor", "BrokenThreadPool"]


class BrokenThreadPool(_base.BrokenExecutor):
    """Raised when an initializer failed, as the real module does."""


def run_into(future: _base.Future, fn, args, kwargs) -> None:
    """Run ``fn`` and settle ``future``: the body of one cooperative worker turn."""
    if not future.set_running_or_notify_cancel():
        return
    try:
        result = fn(*args, **kwargs)
    except (Shutdown, Parked):
        raise
    except BaseException as exc:
        future.set_exception(exc)
    else:
        future.set_result(result)


class ThreadPoolExecutor(_base.Executor):
    def __init__(self, max_workers=None, thread_name_prefix="", initializer=None, initargs=()):
        if max_workers is not None and max_workers <= 0:
            raise ValueError("max_workers must be greater than 0")
        if initializer is not None and not callable(initializer):
            raise TypeError("initializer must be a callable")
        self._max_workers = max_workers or 1
        self._initializer = initializer
        self._initargs = initargs
        self._initialized = False
        self._broken: str | None = None
        self._shutdown = False
        self._pending: set[_base.Future] = set()
        self._thread_name_prefix = thread_name_prefix or f"ThreadPoolExecutor-{next(_COUNTER)}"
        #: Worker threads not running a task (never started: the scheduler runs their tasks). A task
        #: that waits keeps its worker, so the task run meanwhile gets another, as on a real pool.
        self._idle_workers: list[threading.Thread] = []
        self._workers = 0

    def submit(self, fn, /, *args, **kwargs):
        if self._broken:
            raise BrokenThreadPool(self._broken)
        if self._shutdown:
            raise RuntimeError("cannot schedule new futures after shutdown")
        future = _base.Future()  # type: ignore[var-annotated]
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)
        gate = getattr(getattr(fn, "__self__", None), "when_ready", None)
        if gate is not None:
            # A read from an in-guest pipe starts once it would not block (pipes.PipeBufferedReader).
            gate(fn, args, lambda: SCHEDULER.spawn(self._run_task, future, fn, args, kwargs))
        else:
            SCHEDULER.spawn(self._run_task, future, fn, args, kwargs)
        return future

    submit.__doc__ = _base.Executor.submit.__doc__

    def _run_task(self, future, fn, args, kwargs) -> None:
        if self._idle_workers:
            worker = self._idle_workers.pop()
        else:
            worker = threading.Thread(name=f"{self._thread_name_prefix}_{self._workers}", daemon=True)
            worker._wasi_lsp_done = False
            self._workers += 1
        run_as_thread(worker, self._work, future, fn, args, kwargs)
        self._idle_workers.append(worker)

    def _work(self, future, fn, args, kwargs) -> None:
        if not self._initialized and self._initializer is not None:
            self._initialized = True
            try:
                self._initializer(*self._initargs)
            except (Shutdown, Parked):
                raise
            except BaseException:
                self._broken = "A thread initializer failed, the thread pool is not usable anymore"
                for pending in list(self._pending):
                    pending.set_exception(BrokenThreadPool(self._broken))
                return
        run_into(future, fn, args, kwargs)

    def shutdown(self, wait=True, *, cancel_futures=False):
        self._shutdown = True
        if cancel_futures:
            for future in list(self._pending):
                future.cancel()
        if wait:
            SCHEDULER.block(lambda: not self._pending, io=False)
        for worker in self._idle_workers:
            worker._wasi_lsp_done = True
            threading._active.pop(worker._ident, None)

    shutdown.__doc__ = _base.Executor.shutdown.__doc__
