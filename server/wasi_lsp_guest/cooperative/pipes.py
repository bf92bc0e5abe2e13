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
    from collections.abc import Callable


class Pipe:
    def __init__(self, name: str) -> None:
        self.name = name
        self.buffer = bytearray()
        self.write_closed = False
        self.read_closed = False
        self._on_data: Callable[[bytes], None] | None = None
        self._on_eof: Callable[[], None] | None = None
        #: (condition, callback): work waiting for the pipe to hold what it will read (see :meth:`when`).
        self._waiters: list = []

    def when(self, condition: Callable[[], bool], callback: Callable[[], None]) -> None:
        """Call ``callback`` (as the process asking, now) once ``condition()`` holds: readiness, as ``select`` gives."""
        context = contexts.current()
        if condition():
            callback()
            return
        self._waiters.append((condition, lambda: contexts.run_in(context, callback)))

    def _wake(self) -> None:
        if self._waiters:
            ready = [entry for entry in self._waiters if entry[0]()]
            self._waiters = [entry for entry in self._waiters if entry not in ready]
            for _, callback in ready:
                callback()

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
                self._wake()
        return len(data)

    def close_write(self) -> None:
        if not self.write_closed:
            self.write_closed = True
            if self._on_eof is not None:
                self._on_eof()
            self._wake()

    def close_read(self) -> None:
        self.read_closed = True
        self.buffer = bytearray()

    def wait_for(self, condition: Callable[[], bool]) -> None:
        """Block (cooperatively) until ``condition()`` holds or the writing end is closed."""
        if condition() or self.write_closed:
            return
        waiter = contexts.current()
        SCHEDULER.wait_until(lambda: condition() or self.write_closed or waiter.killed is not None)
        contexts.check_killed()
        if not condition() and not self.write_closed:
            raise RuntimeError(
                f"wasi-lsp: reading the {self.name}, which nothing can ever write: the writer is "
                "waiting further down WASI's one stack (or has nothing left to run), so this read "
                "would block forever"
            )

    def take(self, size: int) -> bytes:
        data = bytes(self.buffer[:size]) if size >= 0 else bytes(self.buffer)
        del self.buffer[:len(data)]
        return data

    def readinto(self, target) -> int:
        self.wait_for(lambda: bool(self.buffer))
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


class PipeBufferedReader(io.BufferedIOBase):
    """A child's binary stdin: the pipe's buffer is its buffer, so readiness is known without reading.

    ``ThreadPoolExecutor.submit(stdin.readline)`` (esbonio's agent reads its
    stdin so, through ``run_in_executor``) starts the work only once a whole
    line (or ``read(n)``: n bytes) is there, as a thread woken by ``select``
    would; no worker sits blocked on the one stack meanwhile.
    """

    def __init__(self, pipe: Pipe) -> None:
        self.pipe = pipe

    def readable(self) -> bool:
        return True

    def _has_line(self, size: int = -1) -> bool:
        buffer = self.pipe.buffer
        return b"\n" in buffer or (size is not None and 0 <= size <= len(buffer))

    def _has(self, size) -> bool:
        return size is not None and 0 <= size <= len(self.pipe.buffer)

    def readline(self, size=-1) -> bytes:
        self._check()
        self.pipe.wait_for(lambda: self._has_line(size))
        buffer = self.pipe.buffer
        end = buffer.find(b"\n")
        end = len(buffer) if end < 0 else end + 1
        if size is not None and size >= 0:
            end = min(end, size)
        return self.pipe.take(end)

    def read(self, size=-1) -> bytes:
        self._check()
        self.pipe.wait_for(lambda: self._has(size))
        return self.pipe.take(-1 if size is None else size)

    def read1(self, size=-1) -> bytes:
        self._check()
        self.pipe.wait_for(lambda: bool(self.pipe.buffer))
        return self.pipe.take(-1 if size is None or size < 0 else size)

    def readinto(self, target) -> int:
        data = self.read1(len(target))
        target[:len(data)] = data
        return len(data)

    readinto1 = readinto

    def peek(self, size=0) -> bytes:
        self._check()
        self.pipe.wait_for(lambda: bool(self.pipe.buffer))
        return bytes(self.pipe.buffer)

    def _check(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on closed file.")

    def close(self) -> None:
        if not self.closed:
            self.pipe.close_read()
        super().close()

    def when_ready(self, method, args: tuple, callback: Callable[[], None]) -> None:
        """Run ``callback`` once ``method(*args)`` would not block (the executor's readiness gate)."""
        name = getattr(method, "__name__", "")
        size = args[0] if args else -1
        if name == "readline":
            condition = lambda: self._has_line(size)  # noqa: E731
        elif name == "read":
            condition = lambda: self._has(size)  # noqa: E731
        elif name in ("read1", "peek", "readinto", "readinto1"):
            condition = lambda: bool(self.pipe.buffer)  # noqa: E731
        else:
            callback()
            return
        self.pipe.when(lambda: condition() or self.pipe.write_closed or self.closed, callback)


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


def stdin(pipe: Pipe):
    """A child's ``sys.stdin``, over a :class:`PipeBufferedReader`."""
    return io.TextIOWrapper(PipeBufferedReader(pipe), encoding="utf-8")


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
