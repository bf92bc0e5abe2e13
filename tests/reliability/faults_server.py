"""A pygls server whose handlers misbehave on request, and report the document state exactly.

Each fault is a custom request so a test can inject it mid-session; the
``faults/document`` request lets load tests compare the server's copy of a
document with the client's, byte for byte.
"""

import hashlib
import os
import sys

from pygls.lsp.server import LanguageServer

server = LanguageServer("faults-server", "v1")


@server.feature("faults/spin")
def spin(ls, params):
    """A runaway handler: only a limit outside the guest can stop it."""
    while True:
        pass


@server.feature("faults/allocate")
def allocate(ls, params):
    """Hold ``params.mb`` MiB at once: past --max-memory this must be a MemoryError, not a dead host."""
    held = [bytearray(1 << 20) for _ in range(params.mb)]
    return len(held)


@server.feature("faults/exit")
def exit_now(ls, params):
    print("faults: exiting mid-request on purpose", file=sys.stderr, flush=True)
    os._exit(params.code)


@server.feature("faults/abort")
def abort(ls, params):
    """abort() in WASI is a wasm trap (unreachable): the guest dies without any Python cleanup."""
    print("faults: aborting mid-request on purpose", file=sys.stderr, flush=True)
    os.abort()


@server.feature("faults/document")
def document(ls, params):
    doc = ls.workspace.get_text_document(params.uri)
    text = doc.source
    return {"version": doc.version, "length": len(text), "sha256": hashlib.sha256(text.encode()).hexdigest()}


@server.feature("faults/echo")
def echo(ls, params):
    return params.value


@server.feature("faults/memory")
def memory(ls, params):
    """Live Python objects after a full collection: a leak shows as a count that only grows."""
    import gc

    gc.collect()
    return {"objects": len(gc.get_objects()), "pending_futures": len(ls.protocol._request_futures)}
