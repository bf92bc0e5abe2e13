"""Process-global state, one copy per in-guest process, swapped when control passes between them.

An in-guest child process (:mod:`.children`) shares the interpreter with its
parent, so what CPython keeps per process is kept here per
:class:`ProcessContext` and put in place whenever control passes to work
that belongs to another process: ``sys.argv``, ``sys.path``,
``sys.stdin``/``stdout``/``stderr``, ``sys.modules['__main__']``,
``os.environ``, the working directory, asyncio's running and current event
loop, the root logger's handlers and level, and the named loggers
(``logging.getLogger(name)``: a Sphinx in a child configures its own
``sphinx`` logger, not the one its parent logs to).

Control passes at scheduler turns (work is bound to the process that queued
it, :func:`bind`) and when a wait steps an asyncio loop of another process
(:mod:`.loop`). Everything else (modules, their globals, logger objects a
module already holds, signal handlers) is shared, as documented in :mod:`.children`.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable


class Killed(BaseException):
    """Unwinds a child that was ``terminate()``d or ``kill()``ed at its next cooperative point."""

    def __init__(self, signal: int):
        super().__init__(signal)
        self.signal = signal


#: On the built runtime every cooperative thread is a fiber with a thread state of its own,
#: which holds its asyncio running loop and event loop as a real thread's does; on the pinned
#: runtime all threads share one thread state, and those two are swapped here with the process.
PER_THREAD_LOOPS = "_wasi_fibers" in sys.builtin_module_names


class ProcessContext:
    """The per-process state of one in-guest process, while another one runs."""

    __slots__ = (
        "name", "argv", "path", "stdin", "stdout", "stderr", "main", "environ", "cwd",
        "running_loop", "event_loop", "log_handlers", "log_level", "loggers", "killed", "ended", "atexit",
    )

    def __init__(self, name: str) -> None:
        self.name = name
        #: Set by ``kill()``/``terminate()``: the signal number the child ends with.
        self.killed: int | None = None
        #: The process has exited: work it left queued is dropped (as a process's threads die with it).
        self.ended = False
        #: ``atexit`` callbacks the child registered, run when it exits.
        self.atexit: list = []

    def save(self) -> None:
        self.argv, self.path = sys.argv, sys.path
        self.stdin, self.stdout, self.stderr = sys.stdin, sys.stdout, sys.stderr
        self.main = sys.modules.get("__main__")
        self.environ = os.environ._data
        try:
            self.cwd = os.getcwd()
        except OSError:
            self.cwd = None
        events = None if PER_THREAD_LOOPS else sys.modules.get("asyncio.events")
        if events is not None:
            self.running_loop = events._get_running_loop()
            policy = events._event_loop_policy
            self.event_loop = getattr(getattr(policy, "_local", None), "_loop", None)
        else:
            self.running_loop = self.event_loop = None
        logging = sys.modules.get("logging")
        if logging is not None:
            self.log_handlers, self.log_level = logging.root.handlers, logging.root.level
            self.loggers = logging.Logger.manager.loggerDict
        else:
            self.log_handlers = self.log_level = self.loggers = None

    def restore(self) -> None:
        sys.argv, sys.path = self.argv, self.path
        sys.stdin, sys.stdout, sys.stderr = self.stdin, self.stdout, self.stderr
        if self.main is not None:
            sys.modules["__main__"] = self.main
        os.environ._data = self.environ
        if self.cwd is not None:
            try:
                if os.getcwd() != self.cwd:
                    os.chdir(self.cwd)
            except OSError:
                pass
        events = None if PER_THREAD_LOOPS else sys.modules.get("asyncio.events")
        if events is not None:
            events._set_running_loop(self.running_loop)
            local = getattr(events._event_loop_policy, "_local", None)
            if local is not None:
                local._loop = self.event_loop
        logging = sys.modules.get("logging")
        if logging is not None and self.log_handlers is not None:
            logging.root.handlers = self.log_handlers
            logging.root.level = self.log_level
            logging.root._cache.clear()
            logging.Logger.manager.loggerDict = self.loggers


ROOT = ProcessContext("root")
#: The process whose code runs now.
CURRENT = ROOT


def current() -> ProcessContext:
    return CURRENT


def switch(target: ProcessContext) -> ProcessContext:
    """Put ``target``'s state in place; returns the context that was current."""
    global CURRENT
    previous = CURRENT
    if target is not previous:
        previous.save()
        target.restore()
        CURRENT = target
    return previous


def check_killed() -> None:
    """At a cooperative point of a killed child: unwind it."""
    if CURRENT.killed is not None and not CURRENT.ended:
        raise Killed(CURRENT.killed)


def run_in(context: ProcessContext, fn: Callable, *args):
    """Call ``fn`` as process ``context``, then return to the caller's process."""
    previous = switch(context)
    try:
        return fn(*args)
    finally:
        switch(previous)
        # Coming back into a child that was killed meanwhile: it ends here.
        check_killed()


def with_running_loop(loop, fn: Callable, *args):
    """``fn(*args)`` with ``loop`` as this thread state's running asyncio loop, then the previous one back.

    For a loop's work run from another thread's wait: with fibers each thread state has
    its own running loop; without, this only restores what :func:`run_in` put in place.
    """
    events = sys.modules["asyncio.events"]
    previous = events._get_running_loop()
    events._set_running_loop(loop)
    try:
        return fn(*args)
    finally:
        events._set_running_loop(previous)


def bind(fn: Callable) -> Callable:
    """``fn``, to be run later as the process queueing it now (dropped if that process has ended)."""
    context = CURRENT

    def bound(*args):
        if context.ended or context.killed is not None:
            return None
        return run_in(context, fn, *args)

    bound.__wrapped__ = fn
    return bound
