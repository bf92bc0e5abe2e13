"""``multiprocessing`` for WASI: what libraries touch at import time, and a cooperative ThreadPool.

The guest's stdlib has no ``multiprocessing``. This module is served as
``multiprocessing`` (and ``multiprocessing.dummy``); :mod:`.process_pool` as
``multiprocessing.pool``. Anything that needs a second process raises
:class:`ProcessesUnavailable` naming the cause, instead of an ImportError far away.
"""

from __future__ import annotations

import queue as _queue
import threading as _threading

__path__: list[str] = []  # a package, so ``multiprocessing.pool`` can be imported below it


class ProcessError(Exception):
    pass


class ProcessesUnavailable(ProcessError, NotImplementedError):
    """WASI has no processes: use a thread pool (cooperative on WASI) or run serially."""


class TimeoutError(ProcessError):
    pass


class AuthenticationError(ProcessError):
    pass


def _no_processes(what: str):
    raise ProcessesUnavailable(
        f"{what}: WASI has no processes; use multiprocessing.pool.ThreadPool "
        "(cooperative under wasi-lsp) or run the work serially"
    )


def cpu_count() -> int:
    return 1


def current_process():
    return _MainProcess()


def parent_process():
    return None


def active_children() -> list:
    return []


def freeze_support() -> None:
    pass


def get_start_method(allow_none: bool = False):
    return None if allow_none else "spawn"


def get_all_start_methods() -> list[str]:
    return []


def set_start_method(method, force: bool = False) -> None:
    _no_processes(f"set_start_method({method!r})")


def get_context(method=None):
    return _Context()


class _MainProcess:
    name = "MainProcess"
    daemon = False
    pid = 1
    ident = 1
    exitcode = None
    authkey = b""

    def is_alive(self) -> bool:
        return True


class Process:
    def __init__(self, *args, **kwargs):
        _no_processes("multiprocessing.Process")


def Pool(*args, **kwargs):
    _no_processes("multiprocessing.Pool")


def Manager(*args, **kwargs):
    _no_processes("multiprocessing.Manager")


def Pipe(*args, **kwargs):
    _no_processes("multiprocessing.Pipe")


Lock = _threading.Lock
RLock = _threading.RLock
Event = _threading.Event
Condition = _threading.Condition
Semaphore = _threading.Semaphore
BoundedSemaphore = _threading.BoundedSemaphore
Barrier = _threading.Barrier
Queue = _queue.Queue
SimpleQueue = _queue.SimpleQueue
JoinableQueue = _queue.Queue


class _Context:
    """``get_context()``: the same names, bound to this single-process world."""

    def __getattr__(self, name):
        return globals()[name]
