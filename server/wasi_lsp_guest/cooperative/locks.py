"""A lock whose blocking acquire is an idle point, and ``threading`` rebuilt on it.

Everything in ``threading`` that blocks ends in ``Lock.acquire``: ``Condition.wait``
parks on a fresh lock that ``notify`` releases, and ``RLock``, ``Semaphore``,
``Barrier``, ``Event``, ``queue.Queue`` and ``concurrent.futures`` build on
``Condition``. So replacing the one lock makes every one of them wait through
:meth:`Scheduler.block`: the work that would release the lock runs meanwhile.
``get_ident`` answers the cooperative thread running, so ``RLock`` ownership,
``current_thread()`` and ``threading.local`` tell threads apart.

Only ``threading``'s names are replaced, not ``_thread``'s: the import system's
module locks keep the interpreter's own.
"""

from __future__ import annotations

from wasi_lsp_guest.cooperative.scheduler import SCHEDULER


class Lock:
    """``threading.Lock``: acquiring a held lock runs other work until it is released."""

    __slots__ = ("_locked", "_holder", "__weakref__")
    #: Whether holding it counts as holding a lock (which keeps a sleeping thread from running others).
    _counted = True

    def __init__(self) -> None:
        self._locked = False
        self._holder = None  # the scheduler's entry for the cooperative thread holding it (None: main)

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if not blocking and timeout != -1:
            raise ValueError("can't specify a timeout for a non-blocking call")
        if timeout < 0 and timeout != -1:
            raise ValueError("timeout value must be a non-negative number")
        if self._locked and (not blocking or not SCHEDULER.block(self._free, None if timeout == -1 else timeout)):
            return False
        self._locked = True
        self._holder = SCHEDULER.holder() if self._counted else None  # type: ignore[assignment]
        return True

    def _free(self) -> bool:
        return not self._locked

    def release(self) -> None:
        if not self._locked:
            raise RuntimeError("release unlocked lock")
        self._locked = False
        SCHEDULER.released(self._holder)
        self._holder = None

    def locked(self) -> bool:
        return self._locked

    def _at_fork_reinit(self) -> None:
        self._locked = False
        self._holder = None

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"<{'locked' if self._locked else 'unlocked'} {type(self).__module__}.Lock object at {id(self):#x}>"

    acquire_lock = acquire
    release_lock = release
    locked_lock = locked


class WaiterLock(Lock):
    """The lock ``Condition.wait`` parks on: held while its thread waits, not as a resource."""

    __slots__ = ()
    _counted = False


def install(threading) -> None:
    """Rebuild ``threading``'s locks, identity and thread-locals on the cooperative lock."""
    import _threading_local

    threading.Lock = Lock
    threading._allocate_lock = WaiterLock

    class RLock(threading._PyRLock):
        def __init__(self) -> None:
            super().__init__()
            self._block = Lock()

    threading._CRLock = None  # RLock() builds threading._PyRLock, on Lock and get_ident
    threading._PyRLock = RLock
    threading.get_ident = SCHEDULER.current_ident
    threading.local = _threading_local.local


def install_queue(queue) -> None:
    """``queue.SimpleQueue``: the C one blocks on interpreter locks; the Python one on ``threading``."""
    queue.SimpleQueue = queue._PySimpleQueue
