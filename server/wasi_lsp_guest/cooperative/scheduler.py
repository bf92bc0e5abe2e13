"""The one scheduler every cooperative thread, timer and pool shares.

Work waits in a FIFO until an idle point: the asyncio loop's wait for I/O
(:mod:`.loop`), or a blocking wait (``Future.result()``, ``Thread.join()``,
``Event.wait()``) that pumps the scheduler until its condition holds. With
nothing runnable, a wait hands the idle time to the I/O pump the pygls adapter
registers (so a worker waiting for a client response lets that response be
read) or sleeps until the next timer.
"""

from __future__ import annotations

import heapq
import itertools
import select
import time
from _collections import deque  # not collections: cheaper at every guest start

TYPE_CHECKING = False  # typing is not imported at run time: it slows every guest start
if TYPE_CHECKING:
    from typing import Callable


class Shutdown(SystemExit):
    """Unwinds the whole process from inside any handler; never captured into a future."""


class TimerEntry:
    """A pending ``call_later``; cancelling it keeps it from ever running."""

    __slots__ = ("when", "callback", "cancelled")

    def __init__(self, when: float, callback: Callable[[], object]):
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


def sleep(seconds: float) -> None:
    """Sleep with ``select``: ``time.sleep`` never returns under Node's WASI."""
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    if seconds > 0:
        select.select([], [], [], seconds)


class Scheduler:
    #: Upper bound of items one ``run_pending`` runs, so work that resubmits itself cannot starve I/O.
    BATCH = 1000

    def __init__(self) -> None:
        self._ready: deque = deque()
        self._timers: list = []
        self._seq = itertools.count()
        #: ``io_pump(timeout) -> bool``: read and dispatch input for up to ``timeout`` seconds
        #: (None: until some arrives); False once no input can ever come.
        self.io_pump: Callable[[float | None], bool] | None = None
        #: Set once the I/O pump reported that no input can ever come again.
        self.input_ended = False
        #: Work that is not a queued item: asyncio loops suspended in their idle point
        #: (:mod:`.loop`). Each has ``ready()``, ``deadline()`` (monotonic, or None)
        #: and ``step()``; any wait steps one that is ready, as a thread blocked in
        #: ``select`` would wake on its own.
        self.pollables: list = []
        #: ``bind(fn) -> fn``: ties queued work to the in-guest process that queued it
        #: (set by :mod:`.children` once a child exists; identity until then).
        self.bind: Callable[[Callable], Callable] | None = None

    def spawn(self, fn: Callable, *args) -> None:
        if self.bind is not None:
            fn = self.bind(fn)
        self._ready.append((fn, args))

    def call_later(self, delay: float, callback: Callable[[], object]) -> TimerEntry:
        if self.bind is not None:
            callback = self.bind(callback)
        entry = TimerEntry(time.monotonic() + max(0.0, delay), callback)
        heapq.heappush(self._timers, (entry.when, next(self._seq), entry))
        return entry

    def has_ready(self) -> bool:
        self._promote_due()
        return bool(self._ready) or any(pollable.ready() for pollable in self.pollables)

    def next_timeout(self, limit: float | None = None) -> float | None:
        """Seconds until something becomes runnable, at most ``limit``: 0 now, None if only input can wake us."""
        if self.has_ready():
            return 0.0
        while self._timers and self._timers[0][2].cancelled:
            heapq.heappop(self._timers)
        when = self._timers[0][0] if self._timers else None
        for pollable in self.pollables:
            due = pollable.deadline()
            if due is not None and (when is None or due < when):
                when = due
        if when is None:
            return limit
        wait = max(0.0, when - time.monotonic())
        return wait if limit is None else min(wait, limit)

    def _promote_due(self) -> None:
        now = time.monotonic()
        while self._timers and (self._timers[0][2].cancelled or self._timers[0][0] <= now):
            entry = heapq.heappop(self._timers)[2]
            if not entry.cancelled:
                self._ready.append((entry.callback, ()))

    def run_pending(self) -> bool:
        """Run the work that is runnable now; True if anything ran."""
        self._promote_due()
        ran = False
        for _ in range(min(len(self._ready), self.BATCH)):
            fn, args = self._ready.popleft()
            ran = True
            fn(*args)
        if not ran:
            for pollable in self.pollables:
                if pollable.ready():
                    pollable.step()
                    return True
        return ran

    def idle(self, timeout: float | None, io: bool = True) -> bool:
        """Give up to ``timeout`` seconds to input (when ``io``) or sleep; False if nothing could ever happen."""
        if io and self.io_pump is not None and not self.input_ended:
            if self.io_pump(timeout):
                return True
            self.input_ended = True
        if timeout is None:
            return False
        sleep(timeout)
        return True

    def wait_until(self, done: Callable[[], bool], timeout: float | None = None, *, io: bool = True) -> bool:
        """Turn the scheduler (and input, when ``io``) until ``done()``; False on timeout or deadlock."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not done():
            if self.run_pending():
                continue
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            if not self.idle(self.next_timeout(left), io):
                return False
        return True

    def drain(self) -> None:
        """Run what is runnable now, at exit, as a process would wait for its threads."""
        for _ in range(100):
            if not self.run_pending():
                return


SCHEDULER = Scheduler()
