"""What the LSP specification requires before pygls sees a message, and pygls does not enforce.

pygls answers a request sent before ``initialize`` as if the session were
open, never answers one sent after ``shutdown`` (the client waits forever),
and turns a non-string ``method`` or a request without ``params`` into an
Internal Error. A client that sends these is broken, but it must get the
error the specification names, and a reply to every request.
"""

from __future__ import annotations

from wasi_lsp_guest.pygls_adapter.channel import INVALID_REQUEST

SERVER_NOT_INITIALIZED = -32002


class Gate:
    def __init__(self) -> None:
        self.initialized = False
        self.shut_down = False

    def check(self, message: dict) -> tuple[int, str] | None:
        """An error to answer instead of dispatching, or None to let pygls have it.

        A notification that must be dropped also returns an error: the caller
        only notes those, since notifications get no reply.
        """
        method = message.get("method")
        if message.get("jsonrpc") != "2.0":
            return INVALID_REQUEST, 'Invalid request: "jsonrpc" must be "2.0"'
        if "method" not in message:
            if "result" in message or "error" in message:
                return None  # a response to one of the server's own requests
            return INVALID_REQUEST, 'Invalid request: no "method" (and not a response)'
        if not isinstance(method, str):
            return INVALID_REQUEST, 'Invalid request: "method" must be a string'
        if "id" in message and (isinstance(message["id"], bool) or not isinstance(message["id"], (int, str))):
            return INVALID_REQUEST, 'Invalid request: "id" must be an integer or a string'
        if method == "exit":
            return None
        if not self.initialized:
            if method != "initialize":
                return SERVER_NOT_INITIALIZED, f"Server not initialized: {method!r} sent before 'initialize'"
            self.initialized = True
        elif self.shut_down:
            return INVALID_REQUEST, f"Invalid request: {method!r} sent after 'shutdown'"
        if method == "shutdown":
            self.shut_down = True
        message.setdefault("params", None)  # JSON-RPC allows omitting it; pygls' generic types do not
        return None
