"""The stdio channel: read frames ahead, drop cancelled requests, dispatch one message per idle point.

Reads block (WASI has no non-blocking stdin), but only when nothing else is
runnable; ``select`` on stdin is used only as a hint, since hosts differ in
how truthfully they report readiness.
"""

from __future__ import annotations

import json
import os
import select
import sys
import time
from collections import deque
from collections.abc import Callable

from wasi_lsp_guest.cooperative.scheduler import Shutdown
from wasi_lsp_guest.pygls_adapter.framing import FrameParser, encode

READ_SIZE = 1 << 20
#: Seconds to wait for more input before dispatching what is queued (0 turns waiting off).
READ_AHEAD_WAIT = float(os.environ.get("WASI_LSP_READ_AHEAD", "0.002"))
#: Wait only after a handler that ran at least this long: only then can a client
#: have sent cancels for what is queued (a stream of quick requests pays nothing).
READ_AHEAD_AFTER = 0.005
#: After a long handler, wait up to this share of its time (at most READ_AHEAD_MAX):
#: the host may need a moment to report input that arrived meanwhile.
READ_AHEAD_SHARE, READ_AHEAD_MAX = 0.02, 0.02
#: "unreliable" when the host's poll_oneoff reports stdin readable with nothing to read, as
#: VS Code's wasm-wasi-core does (it returns every subscription as an event, nbytes 0): a
#: select() there cannot tell, and a read after it blocks. The channel then reads only when it
#: has nothing queued (blocking: timers due meanwhile run after the next input) and never
#: reads ahead. The VS Code bundle sets it.
STDIN_POLL = os.environ.get("WASI_LSP_STDIN_POLL", "reliable")
PARSE_ERROR, INVALID_REQUEST, INTERNAL_ERROR, REQUEST_CANCELLED = -32700, -32600, -32603, -32800


class ClientGone(Shutdown):
    """stdout is closed: nobody can hear the server any more, so it ends (exit code 1)."""

    def __init__(self, cause: BaseException):
        super().__init__(1)
        self.cause = cause


def note(message: str) -> None:
    """One line to stderr, the only place the adapter talks besides the LSP stream."""
    try:
        sys.__stderr__.write(f"wasi-lsp: {message}\n")  # type: ignore[union-attr]
        sys.__stderr__.flush()  # type: ignore[union-attr]
    except (OSError, ValueError):
        pass


class Writer:
    """pygls' writer (2.x) and transport (1.x): frames go to stdout, a closed stdout ends the server."""

    def __init__(self, stream) -> None:
        self._stream = stream
        self.closed = False

    def write(self, data: bytes) -> None:
        if self.closed:
            return  # after exit or end of input: late replies have nobody to go to
        try:
            self._stream.write(data)
            self._stream.flush()
        except (OSError, ValueError) as error:
            self.closed = True
            raise ClientGone(error) from None

    def send(self, message: dict) -> None:
        self.write(encode(message))

    def close(self) -> None:
        if not self.closed:
            try:
                self._stream.flush()
            except (OSError, ValueError):
                pass
        self.closed = True


def _error(msg_id, code: int, message: str) -> dict:
    return {"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": message}}


class Channel:
    def __init__(self, stream, writer: Writer, dispatch: Callable[[dict], None]) -> None:
        self._read = getattr(stream, "read1", stream.read)
        try:
            self._fd = stream.fileno()
        except (AttributeError, OSError, ValueError):
            self._fd = None
        self._writer = writer
        self._dispatch = dispatch
        self._parser = FrameParser()
        self._queue: deque[dict] = deque()
        #: A message was queued since the last scan for cancels found no pair (taking one off cannot make a pair).
        self._unscanned = False
        self._last_handler_time = 0.0
        self.eof = False

    def pump(self, timeout: float | None) -> bool:
        """The scheduler's I/O pump: dispatch one queued message, reading first if none is queued."""
        if not self._queue:
            if self.eof:
                return False
            if not self._fill(timeout):
                return True
        self._read_ahead()
        if self._queue:
            started = time.monotonic()
            self._dispatch(self._queue.popleft())
            self._last_handler_time = time.monotonic() - started
        return bool(self._queue) or not self.eof

    def _ready(self, timeout: float | None) -> bool:
        if self._fd is None or timeout is None:
            return True
        if STDIN_POLL == "unreliable":
            return timeout > 0
        try:
            return bool(select.select([self._fd], [], [], timeout)[0])
        except (OSError, ValueError):
            return True

    def _fill(self, timeout: float | None) -> bool:
        """Read once if input may be there within ``timeout``; False if it was not."""
        if not self._ready(timeout):
            return False
        try:
            data = self._read(READ_SIZE)
        except (OSError, ValueError) as error:
            note(f"cannot read stdin ({error}); stopping")
            data = b""
        if not data:
            self.eof = True
            return True
        for frame in self._parser.feed(data):
            if frame.error is not None:
                self._reject(None, PARSE_ERROR, f"Parse error: {frame.error}")
            else:
                self._enqueue(frame.body)  # type: ignore[arg-type]
        return True

    def _read_ahead(self) -> None:
        """Take in what else is already waiting, so a cancel can overtake its request.

        The wait is a few milliseconds, not 0: wasmtime reports stdin readable
        only once a poll has started its background read.
        """
        busy = self._last_handler_time
        wait = 0.0
        if busy >= READ_AHEAD_AFTER and READ_AHEAD_WAIT > 0:
            wait = max(READ_AHEAD_WAIT, min(busy * READ_AHEAD_SHARE, READ_AHEAD_MAX))
        while not self.eof and self._queue and self._fd is not None and self._ready(wait):
            self._fill(0)
            wait = 0
        self._drop_cancelled()

    def _enqueue(self, body: bytes) -> None:
        try:
            message = json.loads(body)
        except ValueError as error:
            self._reject(None, PARSE_ERROR, f"Parse error: body is not JSON ({error})")
            return
        if not isinstance(message, dict):
            self._reject(None, INVALID_REQUEST, "Invalid request: expected a JSON object (batches are not supported)")
            return
        self._queue.append(message)
        self._unscanned = True

    def _drop_cancelled(self) -> None:
        """Answer queued requests that a queued ``$/cancelRequest`` names, without running them."""
        if not self._unscanned:
            return
        cancels = {
            m["params"]["id"]: m for m in self._queue
            if m.get("method") == "$/cancelRequest" and isinstance(m.get("params"), dict)
            and isinstance(m["params"].get("id"), (int, str))  # a list or object id is unhashable
        }
        if not cancels:
            self._unscanned = False
            return
        queued = {m["id"]: m for m in self._queue
                  if "method" in m and isinstance(m.get("id"), (int, str)) and m["id"] in cancels}
        if not queued:
            self._unscanned = False
            return
        doomed = {id(m) for m in queued.values()} | {id(cancels[i]) for i in queued}
        self._queue = deque(m for m in self._queue if id(m) not in doomed)
        for msg_id in queued:
            self._writer.send(_error(msg_id, REQUEST_CANCELLED, f'Request with id "{msg_id}" is canceled'))

    def _reject(self, msg_id, code: int, message: str) -> None:
        note(message)
        self._writer.send(_error(msg_id, code, message))

    def reject(self, message: dict, code: int, text: str) -> None:
        """Answer a request that could not be handed to pygls (notifications just get a note)."""
        if "id" in message and "method" in message:
            self._reject(message["id"], code, text)
        else:
            note(text)
