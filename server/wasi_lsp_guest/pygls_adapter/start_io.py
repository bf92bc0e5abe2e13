"""``start_io`` for WASI: pygls' own protocol object, driven by the cooperative loop.

pygls 2.x's WASI path runs a synchronous loop that never runs ``async``
handlers, crashes at end of input and floods stderr when stdout closes; pygls
1.x reads stdin through a thread pool. Both get this instead: the asyncio loop
runs, and whenever it is idle the channel reads and dispatches the next
message, so handlers of every kind (plain, ``async``, ``@server.thread()``)
complete between messages.
"""

from __future__ import annotations

import asyncio
import atexit
import gc
import logging
import os
import sys
import threading
from dataclasses import dataclass
from typing import Any
from collections.abc import Callable

from wasi_lsp_guest.cooperative import contexts
from wasi_lsp_guest.cooperative.scheduler import SCHEDULER
from wasi_lsp_guest.pygls_adapter.channel import INTERNAL_ERROR, Channel, ClientGone, Writer, note
from wasi_lsp_guest.pygls_adapter.gate import Gate


@dataclass
class Binding:
    """Where pygls 1.x and 2.x differ: how a message is structured and handed over, and the loop."""

    structure: Callable[[dict], Any]
    dispatch: Callable[[Any], None]
    attach: Callable[[Writer], None]
    loop: asyncio.AbstractEventLoop


def _forget_finished_handlers(protocol) -> None:
    """Drop each handler's future from pygls' table once it is done.

    pygls 2.1 files the future of every notification handler and generator
    step under a fresh uuid that nothing ever removes: about 1 KB per
    ``didChange``, for the life of the server. Requests were already removed
    by pygls when answered or cancelled; for them this is a no-op.
    """
    execute = getattr(protocol, "_execute_handler", None)
    futures = getattr(protocol, "_request_futures", None)
    if execute is None or not isinstance(futures, dict):
        return

    def execute_and_forget(msg_id, handler, callback, args=None, kwargs=None):
        def forget(future) -> None:
            if futures.get(msg_id) is future:
                del futures[msg_id]
            callback(future)

        execute(msg_id, handler, forget, args, kwargs)

    protocol._execute_handler = execute_and_forget


def bind(server) -> Binding:
    if hasattr(server, "protocol") and hasattr(server.protocol, "handle_message"):  # pygls 2.x
        protocol = server.protocol
        _forget_finished_handlers(protocol)
        loop = asyncio.new_event_loop()
        return Binding(protocol.structure_message, protocol.handle_message, protocol.set_writer, loop)
    protocol = server.lsp  # pygls 1.x
    loop = server.loop
    from wasi_lsp_guest.cooperative.loop import WasiEventLoop

    if not isinstance(loop, WasiEventLoop) or loop.is_closed():
        loop = server.loop = asyncio.new_event_loop()
    return Binding(protocol._deserialize_message, protocol._procedure_handler, protocol.connection_made, loop)


def _keep_stdout_for_lsp() -> None:
    """Stray ``print()`` and stdout log handlers would corrupt the LSP stream: send them to stderr."""
    original = sys.stdout
    sys.stdout = sys.stderr
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream in (original, sys.__stdout__):
            handler.setStream(sys.stderr)
    path = os.environ.get("WASI_LSP_LOG_FILE")
    if path:
        level = os.environ.get("WASI_LSP_LOG_LEVEL", "INFO").upper()
        try:
            handler = logging.FileHandler(path, encoding="utf-8")
        except OSError as error:
            note(f"cannot open WASI_LSP_LOG_FILE {path}: {error.strerror}; is its directory mounted (--dir)?")
        else:
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
            root = logging.getLogger()
            root.addHandler(handler)
            root.setLevel(level)


def _handler(binding: Binding, channel: Channel) -> Callable[[dict], None]:
    gate = Gate()

    def handle(message: dict) -> None:
        refused = gate.check(message)
        if refused is not None:
            channel.reject(message, *refused)
            return
        try:
            structured = binding.structure(message)
        except Exception as error:
            code = getattr(error, "code", INTERNAL_ERROR)
            text = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
            channel.reject(message, code if isinstance(code, int) else INTERNAL_ERROR, text)
            return
        try:
            binding.dispatch(structured)
        except Exception as error:  # pygls answers handler errors itself; this is its own failure
            channel.reject(message, INTERNAL_ERROR, f"{type(error).__name__}: {error}")

    return handle


def start_io(server, stdin=None, stdout=None) -> None:
    binding = bind(server)
    writer = Writer(stdout or sys.stdout.buffer)
    _keep_stdout_for_lsp()
    binding.attach(writer)
    channel = Channel(stdin or sys.stdin.buffer, writer, lambda m: handle(m))
    handle = _handler(binding, channel)
    server._stop_event = stop = threading.Event()
    # A final garbage collection over pygls' object graph takes WASI Python over a
    # second at exit; frozen objects are skipped (their memory goes with the process).
    atexit.register(gc.freeze)
    asyncio.set_event_loop(binding.loop)

    def read_client(timeout: float | None) -> bool:
        return not stop.is_set() and channel.pump(timeout)

    def pump(timeout: float | None) -> bool:
        # A wait in another thread or an in-guest child may pump: client input belongs to this
        # process, and its handlers to the server's loop.
        return contexts.run_in(root, contexts.with_running_loop, binding.loop, read_client, timeout)

    root = contexts.current()

    previous = SCHEDULER.io_pump, SCHEDULER.input_ended
    SCHEDULER.io_pump, SCHEDULER.input_ended = pump, False
    exit_code = None
    try:
        binding.loop.run_forever()
    except ClientGone as gone:
        note(f"the client closed the connection ({gone.cause}); exiting")
        os._exit(1)
    except SystemExit as exit:
        exit_code = exit.code
    finally:
        SCHEDULER.io_pump, SCHEDULER.input_ended = previous
        writer.closed = True
        try:
            server.shutdown()
        except Exception as error:
            note(f"server shutdown failed: {type(error).__name__}: {error}")
    if exit_code is not None:
        raise SystemExit(exit_code)
