"""LSP base-protocol framing: ``Content-Length`` headers around JSON bodies.

Incremental, so it can take whatever bytes one read returned and hand back
every complete frame in them (that is how queued requests become visible for
cancellation). A bad header block or an oversized body becomes a
:class:`Frame` carrying an error, and parsing resumes after it: a malformed
frame must not end the session, and a huge ``Content-Length`` must not make
us allocate it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

#: Bodies above this are refused (and skipped) without being held in memory.
MAX_BODY = 100 * 1024 * 1024
#: A header block longer than this (with no blank line) is junk.
MAX_HEADER = 64 * 1024


@dataclass
class Frame:
    body: bytes | None = None
    error: str | None = None


def encode(message: dict) -> bytes:
    body = json.dumps(message, separators=(",", ":")).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def _content_length(header: bytes) -> tuple[int | None, str | None]:
    length = None
    for line in header.decode("latin-1").replace("\r\n", "\n").split("\n"):
        name, sep, value = line.partition(":")
        if not sep:
            return None, f"malformed header line {line[:80]!r}"
        if name.strip().lower() == "content-length":
            value = value.strip()
            if not (value.isascii() and value.isdigit()):  # '²'.isdigit() is True, int('²') fails
                return None, f"Content-Length {value[:40]!r} is not a non-negative integer"
            length = int(value)
    if length is None:
        return None, "header block without Content-Length"
    return length, None


class FrameParser:
    def __init__(self) -> None:
        self._buf = bytearray()
        self._body_length: int | None = None  # set while waiting for a body
        self._skip = 0  # bytes of a refused body still to discard

    def feed(self, data: bytes) -> list[Frame]:
        if self._skip:
            dropped = min(self._skip, len(data))
            self._skip -= dropped
            data = data[dropped:]
        self._buf += data
        frames: list[Frame] = []
        while self._buf and not self._skip:
            if self._body_length is None:
                end = self._buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(self._buf) > MAX_HEADER:
                        self._buf.clear()
                        frames.append(Frame(error=f"no end of headers within {MAX_HEADER} bytes"))
                    break
                length, error = _content_length(bytes(self._buf[:end]))
                del self._buf[: end + 4]
                if error:
                    frames.append(Frame(error=error))
                    continue
                if length > MAX_BODY:  # type: ignore[operator]
                    dropped = min(length, len(self._buf))  # type: ignore[assignment,type-var]
                    del self._buf[:dropped]
                    self._skip = length - dropped  # type: ignore[operator]
                    frames.append(Frame(error=f"Content-Length {length} exceeds the {MAX_BODY}-byte limit"))
                    continue
                self._body_length = length
            if len(self._buf) < self._body_length:  # type: ignore[operator]
                break
            frames.append(Frame(body=bytes(self._buf[: self._body_length])))
            del self._buf[: self._body_length]
            self._body_length = None
        return frames
