"""The pytest-lsp client the matrix uses: every wait is bounded, guest stderr is kept.

A hung server must fail its test with a message that says what was awaited
and for how long, not hang the suite; and when a test fails, what the server
wrote to stderr (inside WASI that is the only trace a crash leaves) belongs
in the report. Both live here so the plugin itself stays declarative.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys

from pytest_lsp.client import LanguageClient, register_lsp_features
from pytest_lsp.protocol import LanguageClientProtocol
from pygls.protocol import default_converter

from wasi_lsp.errors import WasiLspError


class ServerTimeout(WasiLspError):
    """The server under test did not answer (or exit) in time."""


async def deadline(awaitable, seconds: float, message: str, fix: str):
    """``awaitable``'s result, or a :class:`ServerTimeout` that says what never came."""
    try:
        return await asyncio.wait_for(awaitable, seconds)
    except (asyncio.TimeoutError, TimeoutError):
        raise ServerTimeout(message, fix=fix) from None


class TimedProtocol(LanguageClientProtocol):
    """Requests and awaited notifications time out instead of waiting forever."""

    async def send_request_async(self, method, params=None, msg_id=None):
        client: MatrixClient = self._server  # type: ignore[assignment]
        try:
            return await deadline(
                super().send_request_async(method, params, msg_id), client.timeout,
                f"{client.label}: no reply to {method!r} within {client.timeout:g} s",
                "the server is hung or busy; see 'guest stderr' in the report, or raise matrix(timeout=...)",
            )
        except ServerTimeout as error:
            # A hung server gets no shutdown handshake (that would time out again); stop() kills it.
            client.error = error
            raise

    def wait_for_notification_async(self, method: str):
        client: MatrixClient = self._server  # type: ignore[assignment]
        return deadline(
            super().wait_for_notification_async(method), client.timeout,
            f"{client.label}: no {method!r} notification arrived within {client.timeout:g} s",
            "see 'guest stderr' in the report, or raise matrix(timeout=...)",
        )


class MatrixClient(LanguageClient):
    """pytest-lsp's client with a deadline on every wait and a record of the server's stderr."""

    def __init__(self, *, label: str, timeout: float, **kwargs):
        super().__init__(protocol_cls=TimedProtocol, converter_factory=default_converter, **kwargs)
        self.label = label
        self.timeout = timeout
        #: Every line the server (and, in WASI, its host) wrote to stderr, decoded.
        self.stderr_lines: list[str] = []

    async def start_io(self, cmd: str, *args, **kwargs):
        # A session of its own, so stop() can reach the host's children too.
        kwargs.setdefault("start_new_session", os.name == "posix")
        # The base class's forwarder would only echo stderr; ours also keeps it for the report.
        await super(LanguageClient, self).start_io(cmd, *args, **kwargs)
        if self._server and self._server.stderr:
            self._stderr_forwarder = asyncio.create_task(self._keep_stderr(self._server.stderr))

    async def _keep_stderr(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self.stderr_lines.append(line.decode("utf-8", "replace").rstrip("\n"))
            sys.stderr.write(line.decode("utf-8", "replace"))

    async def _server_exit(self):
        """Fail pending requests with the server's last words, not just its exit code."""
        if self._server is None:
            return
        server = self._server
        await server.wait()
        if self._stderr_forwarder:
            await asyncio.wait([self._stderr_forwarder], timeout=1)
        tail = "\n".join(self.stderr_lines[-15:]) or "(nothing on stderr)"
        reason = f"{self.label}: the server exited with code {server.returncode}; its stderr ends with:\n{tail}"
        futures = [*self.protocol._request_futures.values(), *self.protocol._notification_futures.values()]
        for future in futures:
            if not future.done():
                future.set_exception(RuntimeError(reason))
        self._stop_event.set()

    @property
    def returncode(self) -> int | None:
        return self._server.returncode if self._server else None

    async def wait_for_exit(self, timeout: float | None = None) -> int:
        """The server's exit code, failing with :class:`ServerTimeout` if it is still running."""
        assert self._server is not None, "the server was never started"
        limit = self.timeout if timeout is None else timeout
        return await deadline(
            self._server.wait(), limit,
            f"{self.label}: the server was still running {limit:g} s after it was asked to exit",
            "the server must exit on 'exit' and on stdin EOF; see 'guest stderr' in the report",
        )

    async def shutdown_session(self) -> None:
        """pytest-lsp's shutdown, but a server that never exits fails the test instead of hanging it."""
        if self.error is not None or self.capabilities is None:
            return
        if self.stopped and self.returncode is not None:
            tail = "\n".join(self.stderr_lines[-15:]) or "(nothing on stderr)"
            raise RuntimeError(
                f"{self.label}: the server exited (code {self.returncode}) before shutdown; "
                f"its stderr ends with:\n{tail}"
            )
        await self.shutdown_async(None)
        self.exit(None)
        if self._server:
            await self.wait_for_exit()

    async def stop(self):
        """Stop without hanging: close stdin, then terminate, then kill a server that lingers."""
        self._stop_event.set()
        server = self._server
        if server is not None and server.returncode is None:
            if server.stdin and not server.stdin.is_closing():
                server.stdin.close()
            for sig in (None, signal.SIGTERM, signal.SIGKILL):
                if sig is not None:
                    try:
                        _signal_group(server, sig)
                    except ProcessLookupError:
                        break
                try:
                    await asyncio.wait_for(server.wait(), 3)
                    break
                except (asyncio.TimeoutError, TimeoutError):
                    continue
        if self._stderr_forwarder:
            with contextlib.suppress(asyncio.TimeoutError, TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._stderr_forwarder, 2)
        if self._async_tasks:
            await asyncio.wait(self._async_tasks, timeout=3)


def _signal_group(server: asyncio.subprocess.Process, sig: int) -> None:
    """Signal the server's whole process group: WASI hosts like node and the wasmtime CLI are
    children of ``wasi-lsp serve``, and terminating only the parent would orphan them."""
    try:
        os.killpg(server.pid, sig)
    except (AttributeError, PermissionError):
        server.send_signal(sig)


def make_client(label: str, timeout: float) -> MatrixClient:
    client = MatrixClient(label=label, timeout=timeout)
    register_lsp_features(client)
    return client
