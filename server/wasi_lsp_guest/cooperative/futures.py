"""``concurrent.futures.thread`` for WASI: a ThreadPoolExecutor whose workers are scheduler turns.

The guest's stdlib has no ``concurrent.futures.thread``; this module is served
under that name. ``Future.result()`` and ``Future.exception()`` pump the
scheduler instead of blocking a condition variable no other thread could notify.
"""

from __future__ import annotations

from concurrent.futures import _base

from wasi_lsp_guest.cooperative.scheduler import SCHEDULER, Shutdown

__all__ = ["ThreadPoolExecutor", "BrokenThreadPool"]


class BrokenThreadPool(_base.BrokenExecutor):
    """Raised when an initializer failed, as the real module does."""


def run_into(future: _base.Future, fn, args, kwargs) -> None:
    """Run ``fn`` and settle ``future``: the body of one cooperative worker turn."""
    if not future.set_running_or_notify_cancel():
        return
    try:
        result = fn(*args, **kwargs)
    except Shutdown:
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
        self._thread_name_prefix = thread_name_prefix
        self._initializer = initializer
        self._initargs = initargs
        self._initialized = False
        self._broken: str | None = None
        self._shutdown = False
        self._pending: set[_base.Future] = set()

    def submit(self, fn, /, *args, **kwargs):
        if self._broken:
            raise BrokenThreadPool(self._broken)
        if self._shutdown:
            raise RuntimeError("cannot schedule new futures after shutdown")
        future = _base.Future()
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)
        SCHEDULER.spawn(self._work, future, fn, args, kwargs)
        return future

    submit.__doc__ = _base.Executor.submit.__doc__

    def _work(self, future, fn, args, kwargs) -> None:
        if not self._initialized and self._initializer is not None:
            self._initialized = True
            try:
                self._initializer(*self._initargs)
            except Shutdown:
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
            SCHEDULER.wait_until(lambda: not self._pending, io=False)

    shutdown.__doc__ = _base.Executor.shutdown.__doc__


def _wait_for(future: _base.Future, timeout) -> None:
    if not future.done() and not SCHEDULER.wait_until(future.done, timeout):
        if timeout is not None:
            raise TimeoutError()
        raise RuntimeError(
            "wasi-lsp: waiting for a future that nothing can complete: WASI has one thread, and no "
            "queued work, timer or client input is left to settle it"
        )


def patch_future() -> None:
    """Make blocking ``Future`` waits turn the scheduler (once; idempotent)."""
    cls = _base.Future
    if getattr(cls, "_wasi_lsp_patched", False):
        return
    result, exception = cls.result, cls.exception

    def cooperative_result(self, timeout=None):
        _wait_for(self, timeout)
        return result(self, 0)

    def cooperative_exception(self, timeout=None):
        _wait_for(self, timeout)
        return exception(self, 0)

    cls.result, cls.exception = cooperative_result, cooperative_exception
    cls._wasi_lsp_patched = True
