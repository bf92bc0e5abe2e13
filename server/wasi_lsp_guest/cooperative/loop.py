"""An asyncio event loop without ``socket.socketpair``.

``asyncio.new_event_loop()`` fails in the guest (errno 58): the selector loop
needs a self-pipe made of a socket pair. Nothing here can be woken from
another thread, so :class:`WasiEventLoop` needs none: its "selector" waits by
turning the shared scheduler and handing idle time to the pygls adapter's
input pump (or sleeping until the next timer). Sockets and pipes
raise NotImplementedError, as WASI offers none; a subprocess whose program is
the guest's Python runs in-guest (:mod:`.child_transport`).

A loop in a cooperative thread that can suspend (a fiber, see
:mod:`.scheduler`) simply waits there until a callback is ready or its next
timer is due. Otherwise a loop waiting in its selector is *pollable*: while it waits, work it started
may run above it on WASI's one stack (a "thread" blocked on a queue, an
in-guest child's own loop), and any wait there steps this loop (one
iteration: due timers and ready callbacks), as a real thread blocked in
``select`` would wake on its own. Without that, a callback readied by such
work would wait until that work returned, which for a child or a reader
thread may be never.
"""

from __future__ import annotations

import asyncio
from asyncio import base_events, events

from wasi_lsp_guest.cooperative import contexts
from wasi_lsp_guest.cooperative.scheduler import SCHEDULER


class _IdleSelector:
    """Stands where a selector would: ``select(timeout)`` is the loop's idle point."""

    def __init__(self, loop: WasiEventLoop) -> None:
        self._loop = loop

    def select(self, timeout=None) -> list:
        loop = self._loop
        if loop._wasi_stepping:
            return []  # one iteration run by a waiter elsewhere: its callbacks, nothing more
        if SCHEDULER.suspendable():
            # A loop in a thread of its own: it leaves the stack until another thread
            # readies a callback (call_soon_threadsafe) or its next timer is due.
            SCHEDULER.block(lambda: bool(loop._ready), timeout)
            return []
        loop._wasi_context = contexts.current()
        loop._wasi_waiting += 1
        if loop._wasi_waiting == 1:
            SCHEDULER.pollables.append(loop)
        try:
            self._idle(timeout)
        finally:
            loop._wasi_waiting -= 1
            if loop._wasi_waiting == 0:
                SCHEDULER.pollables.remove(loop)
        return []

    def _idle(self, timeout) -> None:
        # Work that ran may have readied callbacks: let the loop recompute its timeout.
        if SCHEDULER.run_pending() or timeout == 0:
            return
        wait = SCHEDULER.next_timeout(timeout)
        if wait != 0 and (not SCHEDULER.idle(wait) or SCHEDULER.input_ended):
            # Input has ended (the server is done), or nothing is scheduled and
            # no input can ever come: stop rather than sleep forever.
            loop = events._get_running_loop()
            if loop is not None:
                loop.stop()

    def get_map(self) -> dict:
        return {}

    def close(self) -> None:
        pass

    def register(self, *args, **kwargs):
        raise NotImplementedError("WASI has no pollable sockets or pipes")

    modify = unregister = register


class WasiEventLoop(base_events.BaseEventLoop):
    def __init__(self) -> None:
        super().__init__()
        self._selector = _IdleSelector(self)
        self._wasi_waiting = 0
        self._wasi_stepping = False
        self._wasi_context = contexts.current()

    # -- pollable: stepped by waits above this loop's idle point ---------------

    def ready(self) -> bool:
        if self._wasi_stepping or not self._wasi_waiting:
            return False
        if self._ready:
            return True
        return bool(self._scheduled) and self._scheduled[0].when() <= self.time()

    def deadline(self):
        if self._wasi_stepping or not self._wasi_waiting or not self._scheduled:
            return None
        return self._scheduled[0].when()  # loop.time() is time.monotonic()

    def step(self) -> None:
        self._wasi_stepping = True
        try:
            contexts.run_in(self._wasi_context, contexts.with_running_loop, self, self._run_once)
        finally:
            self._wasi_stepping = False

    async def _make_subprocess_transport(self, protocol, args, shell, stdin, stdout, stderr, bufsize,
                                         extra=None, **kwargs):
        from wasi_lsp_guest.cooperative.child_transport import ChildTransport

        if shell:
            from wasi_lsp_guest.cooperative.children import not_python

            raise not_python("/bin/sh")
        kwargs.pop("close_fds", None)
        unknown = set(kwargs) - {"env", "cwd"}
        if unknown:
            raise TypeError(f"wasi-lsp: in-guest children do not support {sorted(unknown)}")
        transport = ChildTransport(self, protocol, args, stdin, stdout, stderr, extra=extra, **kwargs)
        connected = self.create_future()
        self.call_soon(connected.set_result, None)  # after connection_made, queued first
        await connected
        return transport

    def _process_events(self, event_list) -> None:
        pass

    def _write_to_self(self) -> None:
        pass


class WasiEventLoopPolicy(events.BaseDefaultEventLoopPolicy):
    _loop_factory = WasiEventLoop


def install() -> None:
    if not isinstance(events.get_event_loop_policy(), WasiEventLoopPolicy):
        asyncio.set_event_loop_policy(WasiEventLoopPolicy())
