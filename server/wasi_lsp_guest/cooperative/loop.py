"""An asyncio event loop without ``socket.socketpair``.

``asyncio.new_event_loop()`` fails in the guest (errno 58): the selector loop
needs a self-pipe made of a socket pair. Nothing here can be woken from
another thread, so :class:`WasiEventLoop` needs none: its "selector" waits by
turning the shared scheduler and handing idle time to the pygls adapter's
input pump (or sleeping until the next timer). Sockets, pipes and subprocesses
raise NotImplementedError, as WASI offers none.
"""

from __future__ import annotations

import asyncio
from asyncio import base_events, events

from wasi_lsp_guest.cooperative.scheduler import SCHEDULER


class _IdleSelector:
    """Stands where a selector would: ``select(timeout)`` is the loop's idle point."""

    def select(self, timeout=None) -> list:
        # Work that ran may have readied callbacks: let the loop recompute its timeout.
        if SCHEDULER.run_pending() or timeout == 0:
            return []
        wait = SCHEDULER.next_timeout(timeout)
        if wait != 0 and (not SCHEDULER.idle(wait) or SCHEDULER.input_ended):
            # Input has ended (the server is done), or nothing is scheduled and
            # no input can ever come: stop rather than sleep forever.
            loop = events._get_running_loop()
            if loop is not None:
                loop.stop()
        return []

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
        self._selector = _IdleSelector()

    def _process_events(self, event_list) -> None:
        pass

    def _write_to_self(self) -> None:
        pass


class WasiEventLoopPolicy(events.BaseDefaultEventLoopPolicy):
    _loop_factory = WasiEventLoop


def install() -> None:
    if not isinstance(events.get_event_loop_policy(), WasiEventLoopPolicy):
        asyncio.set_event_loop_policy(WasiEventLoopPolicy())
