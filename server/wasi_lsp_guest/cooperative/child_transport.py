"""asyncio's subprocess transport for in-guest children (``asyncio.create_subprocess_exec``).

The child's output pipes deliver into the loop with ``call_soon`` (the loop
is stepped by whoever waits, :mod:`.loop`), so ``asyncio.subprocess.Process``
and its ``StreamReader``/``StreamWriter`` work unchanged: ``readline()``,
``read()``, ``write()``/``drain()``/``close()``, ``wait()``, ``communicate()``,
``returncode``, ``terminate()``/``kill()``.
"""

from __future__ import annotations

import signal
import subprocess

from asyncio import transports

from wasi_lsp_guest.cooperative import pipes
from wasi_lsp_guest.cooperative.children import Child, is_guest_python, not_python


class _ReadEnd(transports.ReadTransport):
    def __init__(self, owner: ChildTransport, fd: int) -> None:
        super().__init__()
        self._owner, self._fd, self._closing = owner, fd, False

    def pause_reading(self) -> None:
        pass  # the pipe buffers in memory; the child is never made to wait

    def resume_reading(self) -> None:
        pass

    def is_reading(self) -> bool:
        return not self._closing

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        self._closing = True


class _WriteEnd(transports.WriteTransport):
    def __init__(self, owner: ChildTransport, pipe: pipes.Pipe) -> None:
        super().__init__()
        self._owner, self._pipe, self._closing = owner, pipe, False

    def write(self, data) -> None:
        if self._closing or self._pipe.read_closed:
            return  # as asyncio's pipe transport: data to a gone reader is dropped (it logs a warning)
        self._pipe.write(data)

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.close()

    def get_write_buffer_size(self) -> int:
        return 0

    def set_write_buffer_limits(self, high=None, low=None) -> None:
        pass

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        if not self._closing:
            self._closing = True
            self._pipe.close_write()
            self._owner._deliver(self._owner._protocol.pipe_connection_lost, 0, None)

    abort = close


class ChildTransport(transports.SubprocessTransport):
    def __init__(self, loop, protocol, args, stdin, stdout, stderr, env=None, cwd=None, extra=None) -> None:
        super().__init__(extra)
        self._loop, self._protocol = loop, protocol
        self._closed = False
        self._waiters: list = []
        self._ends: dict = {}
        argv = list(args)
        if not argv or not is_guest_python(argv[0]):
            raise not_python(argv[0] if argv else "")
        child_ends = []  # type: ignore[var-annotated]
        for fd, spec in enumerate((stdin, stdout, stderr)):
            if spec == subprocess.STDOUT and fd == 2:
                child_ends.append(child_ends[1])
            elif spec == subprocess.PIPE:
                pipe = pipes.Pipe(("child's stdin", "child's stdout", "child's stderr")[fd])
                child_ends.append(pipe)
                if fd == 0:
                    self._ends[0] = _WriteEnd(self, pipe)
                else:
                    self._ends[fd] = _ReadEnd(self, fd)
                    pipe.listen(self._on_data(fd), self._on_eof(fd))
            elif spec == subprocess.DEVNULL:
                child_ends.append(open("/dev/null", "r" if fd == 0 else "w"))  # noqa: SIM115 (the child owns it)
            elif spec is None:
                child_ends.append(None)
            else:
                raise OSError(58, "wasi-lsp: an in-guest child's stdio must be PIPE, DEVNULL, STDOUT or None")
        self._child = Child(argv, env=env, cwd=cwd, stdin=child_ends[0], stdout=child_ends[1],
                            stderr=child_ends[2], on_exit=self._exited)
        self._loop.call_soon(protocol.connection_made, self)

    def _deliver(self, callback, *args) -> None:
        if not self._loop.is_closed():
            self._loop.call_soon(callback, *args)

    def _on_data(self, fd: int):
        return lambda data: self._deliver(self._protocol.pipe_data_received, fd, data)

    def _on_eof(self, fd: int):
        return lambda: self._deliver(self._protocol.pipe_connection_lost, fd, None)

    def _exited(self, child: Child) -> None:
        self._deliver(self._protocol.process_exited)
        for waiter in self._waiters:
            self._deliver(_settle, waiter, child.returncode)
        self._waiters.clear()

    def get_pid(self) -> int:
        return self._child.pid

    def get_returncode(self):
        return self._child.returncode

    def get_pipe_transport(self, fd):
        return self._ends.get(fd)

    def send_signal(self, sig) -> None:
        if self._closed:
            raise ProcessLookupError()  # as asyncio's transport, once closed
        self._child.send_signal(int(sig))  # a no-op once the child has exited

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def is_closing(self) -> bool:
        return self._closed

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for end in self._ends.values():
            end.close()
        if self._child.returncode is None:
            self._child.send_signal(signal.SIGKILL)  # as asyncio does for a child still running

    async def _wait(self):
        if self._child.returncode is not None:
            return self._child.returncode
        waiter = self._loop.create_future()
        self._waiters.append(waiter)
        return await waiter


def _settle(waiter, returncode) -> None:
    if not waiter.done():
        waiter.set_result(returncode)
