"""In-memory pipes between in-guest processes.

A pipe is a byte buffer with two ends. Writing never blocks (the buffer
grows; a parent that writes more than a child reads costs memory, not a
deadlock); writing after the reading end closed raises ``BrokenPipeError``
as POSIX does (EPIPE). Reading an empty pipe is a cooperative wait: it runs
other work (the writer among it) until data or end-of-file arrives. An
asyncio reader subscribes with :meth:`Pipe.listen` instead of reading.
"""

from __future__ import annotations

import errno
import io

from wasi_lsp_guest.cooperative import contexts
from wasi_lsp_guest.cooperative.scheduler import SCHEDULER

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable


class Pipe:
    def __init__(self, name: str) -> None:
        self.name = name
        self.buffer = bytearray()
        self.write_closed = False
        self.read_closed = False
        self._on_data: Callable[[bytes], None] | None = None
        self._on_eof: Callable[[], None] | None = None

    def listen(self, on_data: Callable[[bytes], None], on_eof: Callable[[], None]) -> None:
        """Hand every write to ``on_data`` (and end-of-file to ``on_eof``) instead of buffering."""
        self._on_data, self._on_eof = on_data, on_eof
        if self.buffer:
            data, self.buffer = bytes(self.buffer), bytearray()
            on_data(data)
        if self.write_closed:
            on_eof()

    def write(self, data) -> int:
        if self.write_closed:
            raise ValueError("write to closed pipe")
        if self.read_closed:
            raise BrokenPipeError(errno.EPIPE, f"Broken pipe: nobody reads the {self.name}")
        if data:
            if self._on_data is not None:
                self._on_data(bytes(data))
            else:
                self.buffer += data
        return len(data)

    def close_write(self) -> None:
        if not self.write_closed:
            self.write_closed = True
            if self._on_eof is not None:
                self._on_eof()

    def close_read(self) -> None:
        self.read_closed = True
        self.buffer = bytearray()

    def readinto(self, target) -> int:
        if not self.buffer and not self.write_closed:
            waiter = contexts.current()
            SCHEDULER.wait_until(lambda: bool(self.buffer) or self.write_closed or waiter.killed is not None)
            contexts.check_killed()
            if not self.buffer and not self.write_closed:
                raise RuntimeError(
                    f"wasi-lsp: reading the {self.name}, which nothing can ever write: the writer is "
                    "waiting further down WASI's one stack (or has nothing left to run), so this read "
                    "would block forever"
                )
        size = min(len(target), len(self.buffer))
        target[:size] = self.buffer[:size]
        del self.buffer[:size]
        return size


class PipeReader(io.RawIOBase):
    def __init__(self, pipe: Pipe) -> None:
        self.pipe = pipe

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        return self.pipe.readinto(target)

    def close(self) -> None:
        if not self.closed:
            self.pipe.close_read()
        super().close()


class PipeWriter(io.RawIOBase):
    def __init__(self, pipe: Pipe) -> None:
        self.pipe = pipe

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        contexts.check_killed()
        return self.pipe.write(data)

    def close(self) -> None:
        if not self.closed:
            self.pipe.close_write()
        super().close()


def reader(pipe: Pipe, text: bool, encoding: str | None = None, errors: str | None = None, unbuffered=False):
    raw = PipeReader(pipe)
    if text:
        return io.TextIOWrapper(io.BufferedReader(raw), encoding=encoding or "utf-8", errors=errors)
    return raw if unbuffered else io.BufferedReader(raw)


def writer(pipe: Pipe, text: bool, encoding: str | None = None, errors: str | None = None, unbuffered=False,
           line_buffering=False):
    """A writing end as Python opens one: ``unbuffered`` is ``-u`` (or ``bufsize=0``)."""
    raw = PipeWriter(pipe)
    binary = raw if unbuffered else io.BufferedWriter(raw)
    if not text:
        return binary
    return io.TextIOWrapper(
        binary, encoding=encoding or "utf-8", errors=errors, write_through=unbuffered, line_buffering=line_buffering
    )
