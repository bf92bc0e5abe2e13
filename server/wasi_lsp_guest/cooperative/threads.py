"""``threading`` on one thread: started threads and timers become scheduler work.

``Thread.start()`` queues ``run()`` as one scheduler turn (it runs to the end,
unless it blocks in a wait that pumps the scheduler). ``Timer.start()`` queues
its function for the first idle point after the interval, so a debouncer's
``cancel()`` and restart behave as they do with real threads.
"""

from __future__ import annotations

import sys
import threading

from wasi_lsp_guest.cooperative.scheduler import SCHEDULER, Shutdown


def _run_thread(thread: threading.Thread) -> None:
    try:
        thread.run()
    except Shutdown:
        raise
    except SystemExit:
        pass
    except BaseException:
        threading.excepthook(threading.ExceptHookArgs((*sys.exc_info(), thread)))
    finally:
        thread._wasi_lsp_done = True


def _start(self: threading.Thread) -> None:
    if not self._initialized:
        raise RuntimeError("thread.__init__() not called")
    if self._started.is_set():
        raise RuntimeError("threads can only be started once")
    self._wasi_lsp_done = False
    self._started.set()
    if isinstance(self, threading.Timer):
        self._wasi_lsp_entry = SCHEDULER.call_later(self.interval, lambda: _fire(self))
    else:
        SCHEDULER.spawn(_run_thread, self)


def _fire(timer: threading.Timer) -> None:
    try:
        if not timer.finished.is_set():
            timer.function(*timer.args, **timer.kwargs)
    except Shutdown:
        raise
    except BaseException:
        threading.excepthook(threading.ExceptHookArgs((*sys.exc_info(), timer)))
    finally:
        timer.finished.set()
        timer._wasi_lsp_done = True


def _timer_cancel(self: threading.Timer) -> None:
    self.finished.set()
    entry = getattr(self, "_wasi_lsp_entry", None)
    if entry is not None:
        entry.cancel()
        self._wasi_lsp_done = True


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
    SCHEDULER.wait_until(lambda: self._wasi_lsp_done, timeout)


def _event_wait(self: threading.Event, timeout=None) -> bool:
    if not self.is_set():
        SCHEDULER.wait_until(self.is_set, timeout)
    return self.is_set()


def install() -> None:
    thread = threading.Thread
    if getattr(thread, "_wasi_lsp_patched", False):
        return
    thread.start, thread.is_alive, thread.join = _start, _is_alive, _join
    threading.Timer.cancel = _timer_cancel
    threading.Event.wait = _event_wait
    thread._wasi_lsp_patched = True
