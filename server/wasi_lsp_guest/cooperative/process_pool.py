"""``multiprocessing.pool`` for WASI: ThreadPool runs each task as a scheduler turn.

``Pool`` (processes) raises :class:`~.processes.ProcessesUnavailable`.
``AsyncResult.get()`` / ``wait()`` pump the scheduler, like ``Future.result()``.
"""

from __future__ import annotations

from concurrent.futures import Future

from wasi_lsp_guest.cooperative.futures import run_into
from wasi_lsp_guest.cooperative.processes import TimeoutError, _no_processes
from wasi_lsp_guest.cooperative.scheduler import SCHEDULER

__all__ = ["Pool", "ThreadPool", "AsyncResult", "ApplyResult", "MapResult"]


class AsyncResult:
    def __init__(self, future: Future, callback=None, error_callback=None):
        self._future = future
        if callback is not None or error_callback is not None:
            future.add_done_callback(self._settled(callback, error_callback))

    @staticmethod
    def _settled(callback, error_callback):
        def done(future: Future) -> None:
            exc = future.exception()
            if exc is None:
                if callback is not None:
                    callback(future.result())
            elif error_callback is not None:
                error_callback(exc)
        return done

    def ready(self) -> bool:
        return self._future.done()

    def successful(self) -> bool:
        if not self.ready():
            raise ValueError(f"{self!r} not ready")
        return self._future.exception() is None

    def wait(self, timeout=None) -> None:
        SCHEDULER.block(self._future.done, timeout)

    def get(self, timeout=None):
        self.wait(timeout)
        if not self.ready():
            raise TimeoutError
        return self._future.result()


ApplyResult = MapResult = AsyncResult


class ThreadPool:
    def __init__(self, processes=None, initializer=None, initargs=()):
        if processes is not None and processes < 1:
            raise ValueError("Number of processes must be at least 1")
        self._state = "RUN"
        if initializer is not None:
            SCHEDULER.spawn(initializer, *initargs)

    def _check_running(self) -> None:
        if self._state != "RUN":
            raise ValueError("Pool not running")

    def apply_async(self, func, args=(), kwds=None, callback=None, error_callback=None) -> AsyncResult:
        self._check_running()
        future: Future = Future()
        SCHEDULER.spawn(run_into, future, func, args, kwds or {})
        return AsyncResult(future, callback, error_callback)

    def apply(self, func, args=(), kwds=None):
        return self.apply_async(func, args, kwds).get()

    def starmap_async(self, func, iterable, chunksize=None, callback=None, error_callback=None) -> AsyncResult:
        self._check_running()
        future: Future = Future()
        SCHEDULER.spawn(run_into, future, lambda: [func(*args) for args in iterable], (), {})
        return AsyncResult(future, callback, error_callback)

    def map_async(self, func, iterable, chunksize=None, callback=None, error_callback=None) -> AsyncResult:
        return self.starmap_async(func, ((item,) for item in iterable), chunksize, callback, error_callback)

    def map(self, func, iterable, chunksize=None) -> list:
        return self.map_async(func, iterable).get()

    def starmap(self, func, iterable, chunksize=None) -> list:
        return self.starmap_async(func, iterable).get()

    def imap(self, func, iterable, chunksize=1):
        return iter(self.map(func, iterable))

    imap_unordered = imap

    def close(self) -> None:
        self._state = "CLOSE"

    def terminate(self) -> None:
        self._state = "TERMINATE"

    def join(self) -> None:
        if self._state == "RUN":
            raise ValueError("Pool is still running")
        SCHEDULER.drain()

    def __enter__(self):
        self._check_running()
        return self

    def __exit__(self, *exc) -> None:
        self.terminate()


def Pool(processes=None, initializer=None, initargs=(), maxtasksperchild=None, context=None):
    _no_processes("multiprocessing.pool.Pool")
