"""The one scheduler every cooperative thread, timer and pool shares.

Work waits in a FIFO until an idle point. Every blocking wait is one:
:meth:`Scheduler.block` runs queued work and due timers (and, under
``wasi-lsp serve``, reads and dispatches client input) until its condition
holds or its timeout passes on the clock. The cooperative lock
(:mod:`.locks`), ``time.sleep``, ``Thread.join``, the thread pool and the
asyncio loop's selector (:mod:`.loop`) all wait through it, so everything the
stdlib builds on a lock or a condition (queues, semaphores, barriers, events,
futures) is an idle point too.

On the built runtime every piece of queued work runs as a *fiber*
(``_wasi_fibers``, compiled into it): a thread whose wait leaves the C stack
with its frames intact, so the wait that resumed it carries on, and any later
waiter resumes the thread once its condition holds or its timeout passes.
Threads take turns as often as they like: ping-pong, bounded queues, barriers.
A fiber can leave the C stack only while its frames form one chain (no C
function between them, e.g. no ``map()`` or ``sorted(key=...)`` calling the
code that waits); a wait that cannot suspend, and every wait on the pinned
runtime, which has no fibers, runs work on top of itself instead:

WASI has one C stack: such a wait resumes only once the work on top of it
returns or blocks for good. When the thread on top is blocked forever while a
wait beneath it is ready, the thread is *parked*: unwound with :class:`Parked`,
left alive but never resumed, as a real thread blocked forever would be; later
waits that need it raise :class:`WaitDeadlock` naming it.
"""

from __future__ import annotations

import _thread
import heapq
import itertools
import select
import sys
import time
from _collections import deque  # not collections: cheaper at every guest start

from wasi_lsp_guest.cooperative import contexts

try:
    from _wasi_fibers import Fiber, can_suspend, suspend  # built into the built runtime
except ImportError:  # the pinned runtime: waits run work on top of themselves
    Fiber = can_suspend = suspend = None  # type: ignore[assignment,misc]

TYPE_CHECKING = False  # typing is not imported at run time: it slows every guest start
if TYPE_CHECKING:
    from collections.abc import Callable


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


#: ``suspend(*_NO_ARGS)``: the evaluation loop suspends a fiber only at a call written this way.
_NO_ARGS = ()


class Task:
    """A piece of queued work running as a fiber: its frames, identity stack and process."""

    __slots__ = ("fiber", "running", "wait", "context")

    def __init__(self, fiber) -> None:
        self.fiber = fiber
        #: The scheduler's ``_running`` while this fiber runs: the cooperative threads it is running as.
        self.running: list[list] = []
        #: (condition, deadline, frame, thread name) of the wait it is suspended in; () while it runs.
        self.wait: tuple = ()
        #: The in-guest process it was running as when it suspended (:mod:`.contexts`).
        self.context: contexts.ProcessContext | None = None

    def ready(self, now: float) -> bool:
        """Its wait is over, or its process was killed (it then unwinds where it waits)."""
        done, deadline = self.wait[0], self.wait[1]
        return ((deadline is not None and now >= deadline) or done()
                or (self.context is not None and self.context.killed is not None))


def call(fn: Callable, args: tuple):
    """``fn(*args)`` without a C-level call for up to three arguments.

    Python 3.12 runs ``fn(*args)`` through the C stack, but a plain call inside
    the interpreter loop; nested waits stack calls, and WASI's C stack is small.
    """
    n = len(args)
    if n == 0:
        return fn()
    if n == 1:
        return fn(args[0])
    if n == 2:
        return fn(args[0], args[1])
    if n == 3:
        return fn(args[0], args[1], args[2])
    return fn(*args)


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
    #: Threads that may run nested on top of each other's waits. Each level costs C stack, and
    #: WASI's is small: about 55 levels overflow it (a wasm trap ends the process, unrecoverably).
    MAX_NESTING = 24
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
        #: [ident, name, sleeps taken, locks held] of the cooperative threads running, innermost last;
        #: empty: the main thread. With fibers, each fiber has its own (:attr:`Task.running`).
        self._running: list[list] = []
        #: The fiber running now (None: the main thread), and the fibers suspended in a wait.
        self._task: Task | None = None
        self._suspended: list[Task] = []
        #: Fibers resumed on top of each other (by waits that could not suspend).
        self._nested = 0
        #: (condition, deadline, frame, thread name) of the waits in progress, outermost first (one stack: they nest).
        self._waits: list[tuple] = []
        #: Set when a wait was ready (its condition held or its timeout passed) but could not resume,
        #: buried under a thread running on top of it: what a real thread would have done differently.
        #: The guest pytest plugin reads and clears it around each test.
        self.buried_ready: str | None = None
        #: (index of a ready wait buried under the top one, since when).
        self._starved: tuple[int, float] | None = None
        #: One line per parked thread: its name and where it was blocked.
        self.parked: list[str] = []
        #: Work that is not a queued item: asyncio loops suspended in their idle point
        #: (:mod:`.loop`). Each has ``ready()``, ``deadline()`` (monotonic, or None)
        #: and ``step()``; any wait steps one that is ready, as a thread blocked in
        #: ``select`` would wake on its own.
        self.pollables: list = []
        #: ``bind(fn) -> fn``: ties queued work to the in-guest process that queued it
        #: (set by :mod:`.children` once a child exists; None until then).
        self.bind: Callable[[Callable], Callable] | None = None

    # --- queuing work ---------------------------------------------------------------------

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
        return (bool(self._ready) or self._ready_task(remove=False) is not None
                or any(pollable.ready() for pollable in self.pollables))

    def next_timeout(self, limit: float | None = None) -> float | None:
        """Seconds until something becomes runnable, at most ``limit``: 0 now, None if only input can wake us."""
        if self.has_ready():
            return 0.0
        while self._timers and self._timers[0][2].cancelled:
            heapq.heappop(self._timers)
        when = self._timers[0][0] if self._timers else None
        for task in self._suspended:
            due = task.wait[1]
            if due is not None and (when is None or due < when):
                when = due
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

    # --- running work ---------------------------------------------------------------------

    def run_one(self) -> bool:
        """Run the first runnable item; True if there was one (False when nested as deep as the stack allows)."""
        self._promote_due()
        if self._nesting() >= self.MAX_NESTING:
            return False
        task = self._ready_task(remove=True)
        if task is not None:
            self._resume(task)
            return True
        if not self._ready:
            return self._step_pollable()
        fn, args = self._ready.popleft()
        if Fiber is not None:
            self._resume(Task(Fiber(_fiber_body(fn, args))))
            return True
        try:
            call(fn, args)
        except Parked:
            pass
        return True

    def _nesting(self) -> int:
        return self._nested if Fiber is not None else len(self._running)

    def _ready_task(self, *, remove: bool) -> Task | None:
        """The suspended fiber to resume: of those whose wait is over, the one whose timeout passed first.

        A late host (a long handler, a loaded machine) then wakes sleepers in the order
        their sleeps ended, as real threads would; waits without a timeout come after.
        """
        if not self._suspended:
            return None
        now = time.monotonic()
        # A thread dies with its process: the fibers of an in-guest child that ended are dropped.
        self._suspended[:] = [task for task in self._suspended if task.context is None or not task.context.ended]
        best, best_due = None, float("inf")
        for index, task in enumerate(self._suspended):
            due = task.wait[1] if task.wait[1] is not None else float("inf")
            if (best is None or due < best_due) and task.ready(now):
                best, best_due = index, due
        if best is None:
            return None
        task = self._suspended[best]
        if remove:
            del self._suspended[best]
        return task

    def _resume(self, task: Task) -> None:
        """Run ``task`` until it suspends again (then it waits in :attr:`_suspended`) or ends."""
        outer_task, outer_running = self._task, self._running
        self._task, self._running = task, task.running
        host = contexts.current()
        if task.context is not None:
            contexts.switch(task.context)
        self._nested += 1
        try:
            finished = task.fiber.resume()
        finally:
            self._nested -= 1
            task.context = contexts.switch(host)
            self._task, self._running = outer_task, outer_running
        if not finished:
            self._suspended.append(task)

    def suspendable(self) -> bool:
        """Whether a wait here can leave the C stack (a fiber whose frames form one chain)."""
        return self._task is not None and can_suspend()

    def _suspend(self, done: Callable[[], bool], deadline: float | None) -> bool:
        """The fiber's side of :meth:`block`: leave the stack until ``done()`` or ``deadline``."""
        task = self._task
        assert task is not None
        task.wait = (done, deadline, sys._getframe(2), self._thread_name())
        try:
            while True:
                suspend(*_NO_ARGS)
                contexts.check_killed()
                if done():
                    return True
                if deadline is not None and time.monotonic() >= deadline:
                    return False
        finally:
            task.wait = ()

    def run_pending(self) -> bool:
        """Run the work that is runnable now; True if anything ran."""
        self._promote_due()
        ran = False
        for _ in range(min(len(self._ready) + len(self._suspended), self.BATCH)):
            ran = self.run_one() or ran
        return ran or self._step_pollable()

    def _step_pollable(self) -> bool:
        """Step one asyncio loop waiting beneath whose callbacks or timers are due; True if one was."""
        for pollable in self.pollables:
            if pollable.ready():
                pollable.step()
                return True
        return False

    def holder(self) -> list | None:
        """Count a lock as held by the running cooperative thread; its entry, for :meth:`released`."""
        if not self._running:
            return None
        entry = self._running[-1]
        entry[3] += 1
        return entry

    @staticmethod
    def released(entry: list | None) -> None:
        if entry is not None:
            entry[3] -= 1

    def current_ident(self) -> int:
        """``threading.get_ident()``: the cooperative thread running now, or the main thread."""
        return self._running[-1][0] if self._running else self.main_ident

    def run_as(self, ident: int, name: str, fn: Callable, *args):
        """Run ``fn`` as cooperative thread ``ident`` (what ``get_ident()`` answers meanwhile)."""
        self._running.append([ident, name, 0, 0])
        try:
            return call(fn, args)
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
        if self.suspendable():
            return self._suspend(done, deadline)
        depth = len(self._waits)
        self._waits.append((done, deadline, sys._getframe(1), self._thread_name()))
        try:
            while not done():
                if self.run_one():
                    continue
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                nested_out = self._nesting() >= self.MAX_NESTING
                wait = left if nested_out else self.next_timeout(left)
                if depth and self._running:
                    wait = self._park_if_buried(depth, wait, io)
                if not self.idle(wait, io and not nested_out):
                    raise WaitDeadlock(self._deadlock_message())
            return True
        finally:
            self._waits.pop()
            if self._starved is not None and self._starved[0] >= len(self._waits):
                self._starved = None

    def _park_if_buried(self, depth: int, wait: float | None, io: bool) -> float | None:
        """Park the running thread if it blocks a ready wait beneath it forever (or for too long).

        Returns how long to idle: at most until the first timeout beneath passes, to check again then.
        """
        ready = self._ready_beneath(depth)
        if ready is None:
            self._starved = None
            deadlines = [entry[1] for entry in self._waits[:depth] if entry[1] is not None]
            if deadlines:
                until = max(0.0, min(deadlines) - time.monotonic())
                wait = until if wait is None else min(wait, until)
            return wait
        input_may_come = io and self.io_pump is not None and not self.input_ended
        now = time.monotonic()
        if wait is None and not input_may_come:
            self._park()
        if self._starved is None or self._starved[0] != ready:
            self._starved = (ready, now)
        elif now - self._starved[1] > self.STARVATION_LIMIT:
            self._park()
        return wait

    def _ready_beneath(self, depth: int) -> int | None:
        """The index of the first of the outer ``depth`` waits that could resume now (noted in :attr:`buried_ready`)."""
        now = time.monotonic()
        for index in range(depth):
            done, deadline, frame, thread = self._waits[index]
            if (deadline is not None and now >= deadline) or done():
                if self.buried_ready is None:
                    self.buried_ready = (f"{thread}'s {describe_frame(frame)} could resume, but "
                                         f"{self._thread_name()} ran on top of it ({describe_wait(3)})")
                return index
        return None

    def _park(self) -> None:
        self.parked.append(f"{self._running[-1][1]!r} blocked in {describe_wait(3)}")
        raise Parked

    def _thread_name(self) -> str:
        return f"thread {self._running[-1][1]!r}" if self._running else "the main thread"

    def _deadlock_message(self) -> str:
        message = f"wasi-lsp: {describe_wait(3)} in {self._thread_name()} waits forever: "
        beneath = self._waits[:-1]
        if beneath:
            done, deadline, frame, thread = beneath[-1]
            message += ("no thread can run and no timer is pending. If a thread could end this wait, it is one "
                        f"suspended beneath it, and WASI has one stack: {thread}, waiting in "
                        f"{describe_frame(frame)}, resumes only after this wait returns")
        else:
            message += "no thread can run, no timer is pending and no input can come"
            if not self.parked:
                message += " (a real thread would hang here)"
        if self._nesting() >= self.MAX_NESTING:
            message += (f". {self._nesting()} threads are waiting on top of each other, as deep as WASI's one "
                        "stack allows; the threads still queued cannot start")
        if self._suspended:
            waiting = (f"{task.wait[3]} in {describe_frame(task.wait[2])}" for task in self._suspended[:3])
            message += ". Threads waiting meanwhile: " + "; ".join(waiting)
            if len(self._suspended) > 3:
                message += f" (and {len(self._suspended) - 3} more)"
        if self.parked:
            message += (". These threads were parked (unwound, blocked above a wait that was ready); a real "
                        "thread would resume, but WASI has one stack: " + "; ".join(self.parked[-3:]))
            if len(self.parked) > 3:
                message += f" (and {len(self.parked) - 3} earlier)"
        return message

    def wait_until(self, done: Callable[[], bool], timeout: float | None = None, *, io: bool = True) -> bool:
        """Like :meth:`block`, but False instead of :class:`WaitDeadlock`."""
        try:
            return self.block(done, timeout, io=io)
        except WaitDeadlock:
            return False

    def sleep(self, seconds: float) -> None:
        """``time.sleep``: an idle point; other threads and due timers run while the clock advances.

        A cooperative thread that holds a lock, or sleeps for one of its first few
        times, only pauses: a thread started on top of a sleeping one would hold the
        sleeper until it returns, and a sleeper usually holds something (a lock, a
        semaphore) the next thread wants. A thread that keeps sleeping holding no
        lock is polling, and then its sleeps run other work.
        """
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        if self.suspendable():
            self._suspend(_never, time.monotonic() + seconds)
            return
        if self._running:
            entry = self._running[-1]
            entry[2] += 1
            if entry[3] > 0 or entry[2] <= self.QUIET_SLEEPS:
                if self._waits and self.buried_ready is None:
                    self._ready_beneath(len(self._waits))
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


def _fiber_body(fn: Callable, args: tuple) -> Callable[[], None]:
    """A fiber's function (of no arguments): ``fn(*args)``; a parked thread ends its fiber."""

    def body() -> None:
        try:
            call(fn, args)
        except Parked:
            pass

    return body


SCHEDULER = Scheduler()




def sleep(seconds: float) -> None:
    """``time.sleep`` under WASI: see :meth:`Scheduler.sleep`."""
    SCHEDULER.sleep(seconds)
