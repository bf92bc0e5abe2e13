"""The one scheduler every cooperative thread, timer and pool shares.

Work waits in a FIFO until an idle point. Every blocking wait is one:
:meth:`Scheduler.block` runs queued work and due timers (and, under
``wasi-lsp serve``, reads and dispatches client input) until its condition
holds or its timeout passes on the clock. The cooperative lock
(:mod:`.locks`), ``time.sleep``, ``Thread.join``, the thread pool and the
asyncio loop's selector (:mod:`.loop`) all wait through it, so everything the
stdlib builds on a lock or a condition (queues, semaphores, barriers, events,
futures) is an idle point too.

WASI has one stack: a "thread" runs on top of the wait that started it, and
that wait resumes only once the thread returns or blocks for good. When the
thread on top is blocked forever while a wait beneath it is ready, the thread
is *parked*: unwound with :class:`Parked`, left alive but never resumed, as a
real thread blocked forever would be; later waits that need it raise
:class:`WaitDeadlock` naming it.
"""

from __future__ import annotations

import _thread
import heapq
import itertools
import select
import sys
import time
from _collections import deque  # not collections: cheaper at every guest start

TYPE_CHECKING = False  # typing is not imported at run time: it slows every guest start
if TYPE_CHECKING:
    from typing import Callable


class Shutdown(SystemExit):
    """Unwinds the whole process from inside any handler; never captured into a future."""


class WaitDeadlock(RuntimeError):
    """A blocking wait that nothing left in the process could ever satisfy (a real thread would hang)."""


class Parked(BaseException):
    """Unwinds a cooperative thread blocked forever above a ready wait; the scheduler swallows it."""


class TimerEntry:
    """A pending ``call_later``; cancelling it keeps it from ever running."""

    __slots__ = ("when", "callback", "cancelled")

    def __init__(self, when: float, callback: Callable[[], object]):
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


def pause(seconds: float) -> None:
    """Really sleep, with ``select``: ``time.sleep`` never returns under Node's WASI."""
    if seconds > 0:
        select.select([], [], [], seconds)


def _never() -> bool:
    return False


#: Modules whose frames are the machinery of a wait, not its caller.
_LIBRARY_MODULES = ("threading", "queue", "concurrent.futures", "asyncio", "multiprocessing",
                    "_threading_local", "wasi_lsp_guest.cooperative")
#: Public names of this package's stand-ins, for messages.
_API_NAMES = {"sleep": "time.sleep", "Lock.acquire": "threading.Lock.acquire",
              "_join": "threading.Thread.join", "ThreadPoolExecutor.shutdown": "ThreadPoolExecutor.shutdown"}


def describe_wait(depth: int = 1) -> str:
    """``"queue.Queue.get at app.py:12"``: the library call the user's code is blocked in."""
    return describe_frame(sys._getframe(depth))


def describe_frame(frame) -> str:
    """What :func:`describe_wait` says, for a wait made in ``frame`` (or a frame it called from)."""
    api = None
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if not module.startswith(_LIBRARY_MODULES):
            break
        name = getattr(frame.f_code, "co_qualname", frame.f_code.co_name)
        if module.startswith("wasi_lsp_guest.cooperative"):
            api = _API_NAMES.get(name, name)
        elif not name.startswith("_"):
            api = f"{module}.{name}"
        frame = frame.f_back
    where = f" at {frame.f_code.co_filename}:{frame.f_lineno}" if frame is not None else ""
    return f"{api or 'a blocking wait'}{where}"


class Scheduler:
    #: Upper bound of items one ``run_pending`` runs, so work that resubmits itself cannot starve I/O.
    BATCH = 1000
    #: Seconds a ready wait may stay buried under a thread that only waits on timeouts before that thread is parked.
    STARVATION_LIMIT = 5.0
    #: Sleeps a cooperative thread takes without running other threads on top of itself (see :meth:`sleep`).
    QUIET_SLEEPS = 3

    def __init__(self) -> None:
        self._ready: deque = deque()
        self._timers: list = []
        self._seq = itertools.count()
        #: ``io_pump(timeout) -> bool``: read and dispatch input for up to ``timeout`` seconds
        #: (None: until some arrives); False once no input can ever come.
        self.io_pump: Callable[[float | None], bool] | None = None
        #: Set once the I/O pump reported that no input can ever come again.
        self.input_ended = False
        self.main_ident = _thread.get_ident()
        #: [ident, name, sleeps taken] of the cooperative threads running, innermost last; empty: the main thread.
        self._running: list[list] = []
        #: (condition, frame, thread name) of the waits in progress, outermost first (one stack: they nest).
        self._waits: list[tuple] = []
        #: (index of a ready wait buried under the top one, since when).
        self._starved: tuple[int, float] | None = None
        #: One line per parked thread: its name and where it was blocked.
        self.parked: list[str] = []

    # --- queuing work ---------------------------------------------------------------------

    def spawn(self, fn: Callable, *args) -> None:
        self._ready.append((fn, args))

    def call_later(self, delay: float, callback: Callable[[], object]) -> TimerEntry:
        entry = TimerEntry(time.monotonic() + max(0.0, delay), callback)
        heapq.heappush(self._timers, (entry.when, next(self._seq), entry))
        return entry

    def has_ready(self) -> bool:
        self._promote_due()
        return bool(self._ready)

    def next_timeout(self, limit: float | None = None) -> float | None:
        """Seconds until something becomes runnable, at most ``limit``: 0 now, None if only input can wake us."""
        if self.has_ready():
            return 0.0
        while self._timers and self._timers[0][2].cancelled:
            heapq.heappop(self._timers)
        if not self._timers:
            return limit
        wait = max(0.0, self._timers[0][0] - time.monotonic())
        return wait if limit is None else min(wait, limit)

    def _promote_due(self) -> None:
        now = time.monotonic()
        while self._timers and (self._timers[0][2].cancelled or self._timers[0][0] <= now):
            entry = heapq.heappop(self._timers)[2]
            if not entry.cancelled:
                self._ready.append((entry.callback, ()))

    # --- running work ---------------------------------------------------------------------

    def run_one(self) -> bool:
        """Run the first runnable item; True if there was one."""
        self._promote_due()
        if not self._ready:
            return False
        fn, args = self._ready.popleft()
        try:
            fn(*args)
        except Parked:
            pass
        return True

    def run_pending(self) -> bool:
        """Run the work that is runnable now; True if anything ran."""
        self._promote_due()
        ran = False
        for _ in range(min(len(self._ready), self.BATCH)):
            ran = self.run_one() or ran
        return ran

    def current_ident(self) -> int:
        """``threading.get_ident()``: the cooperative thread running now, or the main thread."""
        return self._running[-1][0] if self._running else self.main_ident

    def run_as(self, ident: int, name: str, fn: Callable, *args):
        """Run ``fn`` as cooperative thread ``ident`` (what ``get_ident()`` answers meanwhile)."""
        self._running.append([ident, name, 0])
        try:
            return fn(*args)
        finally:
            self._running.pop()

    # --- waiting --------------------------------------------------------------------------

    def idle(self, timeout: float | None, io: bool = True) -> bool:
        """Give up to ``timeout`` seconds to input (when ``io``) or sleep; False if nothing could ever happen."""
        if io and self.io_pump is not None and not self.input_ended:
            if self.io_pump(timeout):
                return True
            self.input_ended = True
        if timeout is None:
            return False
        pause(timeout)
        return True

    def block(self, done: Callable[[], bool], timeout: float | None = None, *, io: bool = True) -> bool:
        """The one blocking wait: run work, timers and input (when ``io``) until ``done()`` or ``timeout``.

        True once ``done()`` holds, False when ``timeout`` seconds passed first.
        Raises :class:`WaitDeadlock` when nothing could ever make ``done()`` hold,
        and :class:`Parked` (in a cooperative thread) when the wait would block
        forever while a wait beneath it on the stack is ready.
        """
        if done():
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        depth = len(self._waits)
        self._waits.append((done, sys._getframe(1), self._running[-1][1] if self._running else None))
        try:
            while not done():
                if self.run_one():
                    continue
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                wait = self.next_timeout(left)
                if depth and self._running:
                    self._park_if_buried(depth, wait, io)
                if not self.idle(wait, io):
                    raise WaitDeadlock(self._deadlock_message())
            return True
        finally:
            self._waits.pop()
            if self._starved is not None and self._starved[0] >= len(self._waits):
                self._starved = None

    def _park_if_buried(self, depth: int, wait: float | None, io: bool) -> None:
        """Park the running thread if it blocks a ready wait beneath it forever (or for too long)."""
        ready = next((i for i in range(depth) if self._waits[i][0]()), None)
        if ready is None:
            self._starved = None
            return
        input_may_come = io and self.io_pump is not None and not self.input_ended
        now = time.monotonic()
        if wait is None and not input_may_come:
            self._park()
        if self._starved is None or self._starved[0] != ready:
            self._starved = (ready, now)
        elif now - self._starved[1] > self.STARVATION_LIMIT:
            self._park()

    def _park(self) -> None:
        self.parked.append(f"{self._running[-1][1]!r} blocked in {describe_wait(3)}")
        raise Parked

    def _thread_name(self, name: str | None = None) -> str:
        name = name or (self._running[-1][1] if self._running else None)
        return f"thread {name!r}" if name else "the main thread"

    def _deadlock_message(self) -> str:
        message = f"wasi-lsp: {describe_wait(3)} in {self._thread_name()} waits forever: "
        beneath = self._waits[:-1]
        if beneath:
            done, frame, name = beneath[-1]
            message += ("no thread can run and no timer is pending. Only a thread suspended beneath it could "
                        f"end this wait, and WASI has one stack: {self._thread_name(name)}, waiting in "
                        f"{describe_frame(frame)}, resumes only after this wait returns")
        else:
            message += "no thread can run, no timer is pending and no input can come (a real thread would hang here)"
        if self.parked:
            message += (". These threads were parked, blocked forever above a ready wait; WASI has one "
                        "stack and cannot resume them: " + "; ".join(self.parked))
        return message

    def wait_until(self, done: Callable[[], bool], timeout: float | None = None, *, io: bool = True) -> bool:
        """Like :meth:`block`, but False instead of :class:`WaitDeadlock`."""
        try:
            return self.block(done, timeout, io=io)
        except WaitDeadlock:
            return False

    def sleep(self, seconds: float) -> None:
        """``time.sleep``: an idle point; other threads and due timers run while the clock advances.

        A cooperative thread's first few sleeps only pause: a thread started on top
        of a sleeping one would hold the sleeper until it returns, and a sleeper
        usually holds something (a semaphore, a lock) the next thread wants. A
        thread that keeps sleeping is polling, and then its sleeps run other work.
        """
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        if self._running:
            self._running[-1][2] += 1
            if self._running[-1][2] <= self.QUIET_SLEEPS:
                pause(seconds)
                return
        if seconds == 0:
            self.run_one()
        else:
            self.block(_never, seconds)

    def drain(self) -> None:
        """Run what is runnable now, at exit, as a process would wait for its threads."""
        for _ in range(100):
            if not self.run_pending():
                return


SCHEDULER = Scheduler()




def sleep(seconds: float) -> None:
    """``time.sleep`` under WASI: see :meth:`Scheduler.sleep`."""
    SCHEDULER.sleep(seconds)
