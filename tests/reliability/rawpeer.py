"""A raw-bytes LSP peer: the one place where tests write malformed framing on purpose.

pytest-lsp cannot send a broken header, so fuzzing needs its own writer. The
reader stays minimal (pygls' framing is not reusable on a plain pipe), and
stderr is drained on a thread: a guest that notes every rejected frame would
otherwise fill the pipe and stall, which would look like a hang we caused.
"""

from __future__ import annotations

import itertools
import json
import queue
import subprocess
import threading
import time
from collections import deque
from pathlib import Path

from wasi_lsp.pytest_plugin import serve_command as plugin_serve_command

SERVERS = Path(__file__).resolve().parent.parent / "servers"
HERE = Path(__file__).resolve().parent
PYGLS = ("pygls==2.1.1",)


def serve_command(spec: str, *options: str, requirements=PYGLS, dirs=(HERE, SERVERS)) -> list[str]:
    """``wasi-lsp serve`` (embedded host) for a server module found in ``dirs``."""
    return plugin_serve_command(spec, requirements=requirements, dirs=dirs, options=options)


def frame(message: dict | bytes) -> bytes:
    body = message if isinstance(message, bytes) else json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


class RawServer:
    """A server process fed raw bytes; replies arrive parsed on a queue."""

    def __init__(self, command: list[str]) -> None:
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.replies: queue.Queue[dict] = queue.Queue()
        self.stderr: deque[str] = deque(maxlen=200)
        self.stderr_count = 0
        self._ids = itertools.count(1_000_000)
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_stdout(self) -> None:
        out = self.proc.stdout
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            self.replies.put(json.loads(out.read(length)))

    def _read_stderr(self) -> None:
        for line in self.proc.stderr:
            self.stderr.append(line.decode("utf-8", "replace").rstrip())
            self.stderr_count += 1

    def send(self, data: bytes) -> None:
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def next_id(self) -> int:
        return next(self._ids)

    def request(self, method: str, params=None, timeout: float = 30) -> tuple[dict, list[dict]]:
        """Send a valid request; return its reply and every message that came before it."""
        msg_id = self.next_id()
        self.send(frame({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}))
        return self.wait_for(msg_id, timeout)

    def wait_for(self, msg_id, timeout: float = 30) -> tuple[dict, list[dict]]:
        before: list[dict] = []
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                message = self.replies.get(timeout=max(remaining, 0.001))
            except queue.Empty:
                raise AssertionError(self.why(f"no reply to id {msg_id} within {timeout:g} s")) from None
            if message.get("id") == msg_id and "method" not in message:
                return message, before
            before.append(message)

    def why(self, what: str) -> str:
        state = "running" if self.proc.poll() is None else f"exited {self.proc.returncode}"
        return f"{what} (server {state}); last stderr:\n" + "\n".join(list(self.stderr)[-40:])

    def close(self, timeout: float = 30) -> int:
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(self.why(f"server still running {timeout:g} s after end of input")) from None
