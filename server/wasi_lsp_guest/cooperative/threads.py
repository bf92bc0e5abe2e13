"""``threading`` on one thread: started threads and timers become scheduler work.

``Thread.start()`` queues ``run()`` as one scheduler turn, run as that thread
(``current_thread()``, ``get_ident()`` and ``threading.local`` see it). It runs
until it returns; when it waits, its wait runs other work (:mod:`.locks`).
``Timer.start()`` queues its function for the first idle point after the
interval, so a debouncer's ``cancel()`` and restart behave as with real threads.
"""

from __future__ import annotations

import _thread
import itertools
import sys
import threading

from wasi_lsp_guest.cooperative import locks
from wasi_lsp_guest.cooperative.scheduler import SCHEDULER, Parked, Shutdown

#: Thread identities handed out here; far from any real one the runtime reports.
_IDENTS = itertools.count(1 << 40)


def run_as_thread(thread: threading.Thread, fn, *args):
    """Run ``fn`` as ``thread``: registered in ``threading``'s table and answering ``get_ident()``."""
    if thread._ident is None:
        thread._ident = thread._native_id = next(_IDENTS)
    threading._active[thread._ident] = thread
    try:
        return SCHEDULER.run_as(thread._ident, thread.name, fn, *args)
    finally:
        if thread._wasi_lsp_done:
            threading._active.pop(thread._ident, None)


def _report(thread: threading.Thread) -> None:
    threading.excepthook(threading.ExceptHookArgs((*sys.exc_info(), thread)))


def _run_thread(thread: threading.Thread) -> None:
    try:
        thread.run()
    except Parked:
        thread._wasi_lsp_parked = True
        raise
    except Shutdown:
        raise
    except SystemExit:
        pass
    except BaseException:
        _report(thread)
    thread._wasi_lsp_done = True


def _start(self: threading.Thread) -> None:
    if not self._initialized:
        raise RuntimeError("thread.__init__() not called")
    if self._started.is_set():
        raise RuntimeError("threads can only be started once")
    self._wasi_lsp_done = False
    self._ident = self._native_id = next(_IDENTS)
    threading._active[self._ident] = self
    self._started.set()
    if isinstance(self, threading.Timer):
        self._wasi_lsp_entry = SCHEDULER.call_later(self.interval, lambda: run_as_thread(self, _fire, self))
    else:
        SCHEDULER.spawn(run_as_thread, self, _run_thread, self)


def _fire(timer: threading.Timer) -> None:
    try:
        if not timer.finished.is_set():
            timer.function(*timer.args, **timer.kwargs)
    except (Shutdown, Parked):
        raise
    except BaseException:
        _report(timer)
    timer.finished.set()
    timer._wasi_lsp_done = True


def _timer_cancel(self: threading.Timer) -> None:
    self.finished.set()
    entry = getattr(self, "_wasi_lsp_entry", None)
    if entry is not None and not entry.cancelled:
        entry.cancel()
        self._wasi_lsp_done = True
        threading._active.pop(self._ident, None)


def _is_alive(self: threading.Thread) -> bool:
    if not hasattr(self, "_wasi_lsp_done"):
        return self is threading.main_thread()
    return not self._wasi_lsp_done


def _join(self: threading.Thread, timeout=None) -> None:
    if not self._initialized:
        raise RuntimeError("Thread.__init__() not called")
    if not self._started.is_set():
        raise RuntimeError("cannot join thread before it is started")
    if self is threading.current_thread():
        raise RuntimeError("cannot join current thread")
    if timeout is not None and timeout < 0:
        timeout = 0
    SCHEDULER.block(lambda: self._wasi_lsp_done, timeout)


def _non_daemon_alive() -> bool:
    return any(not (t.daemon or getattr(t, "_wasi_lsp_done", True) or getattr(t, "_wasi_lsp_parked", False))
               for t in list(threading._active.values()))


def wait_for_threads() -> None:
    """At exit: run threads until every non-daemon one ended (as ``threading._shutdown`` joins them)."""
    try:
        SCHEDULER.block(lambda: not _non_daemon_alive(), io=False)
    except Exception:  # a thread that can never end: the process ends anyway, as WASI has no other
        pass


def _start_new_thread(function, args, kwargs=None):
    """``_thread.start_new_thread``: a bare cooperative thread; an exception is reported, as natively."""
    ident = next(_IDENTS)

    def body() -> None:
        try:
            function(*args, **(kwargs or {}))
        except (Shutdown, Parked):
            raise
        except SystemExit:
            pass
        except BaseException:
            import traceback

            print(f"Exception ignored in thread started by: {function!r}", file=sys.stderr)
            traceback.print_exc()

    SCHEDULER.spawn(SCHEDULER.run_as, ident, f"Dummy-{ident}", body)
    return ident


def install() -> None:
    thread = threading.Thread
    if getattr(thread, "_wasi_lsp_patched", False):
        return
    locks.install(threading)
    _thread.start_new_thread = _thread.start_new = _start_new_thread
    thread.start, thread.is_alive, thread.join = _start, _is_alive, _join
    threading.Timer.cancel = _timer_cancel
    thread._wasi_lsp_patched = True
