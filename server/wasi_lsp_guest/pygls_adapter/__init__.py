"""Run unmodified pygls servers (1.x and 2.x) over stdio inside WASI.

Nothing is asked of the server: importing ``pygls.server`` in the guest swaps
``start_io`` for :func:`~wasi_lsp_guest.pygls_adapter.start_io.start_io`. What the
adapter guarantees:

* every handler kind completes and replies: plain, ``async def`` (and the tasks
  and ``call_later`` callbacks they schedule), ``@server.thread()``;
* a ``$/cancelRequest`` that arrives while its request is still queued answers
  that request with RequestCancelled (-32800) instead of running it; requests
  already running are cancelled by pygls as usual (async ones at their next await).
  Before each dispatch the channel waits ``WASI_LSP_READ_AHEAD`` seconds (default
  0.002; 0 disables the wait) for more input. Under Node, whose ``poll_oneoff``
  misreports stdin, a cancel that arrives while its request waits is only
  seen if it came in the same read;
* a malformed frame or body is answered with a parse error (-32700) and the
  session continues; a Content-Length above 100 MB is refused without
  allocating it;
* end of input stops the server (exit code 0, or what ``exit`` decided); a
  closed stdout ends it with exit code 1 and one line on stderr;
* ``exit`` exits 0 after ``shutdown`` and 1 without, as the LSP specification says;
* logs and stray ``print()`` go to stderr, or to the file named by
  ``WASI_LSP_LOG_FILE`` (level ``WASI_LSP_LOG_LEVEL``, default INFO), never to
  the LSP stream.
"""

from __future__ import annotations


def _patch(module) -> None:
    from wasi_lsp_guest.pygls_adapter.start_io import start_io

    for name in ("JsonRPCServer", "Server"):  # pygls 2.x, pygls 1.x
        cls = getattr(module, name, None)
        if cls is not None and hasattr(cls, "start_io"):
            cls.start_io = start_io
            return


def install() -> None:
    from wasi_lsp_guest.cooperative.hooks import after_import

    after_import("pygls.server", _patch)
