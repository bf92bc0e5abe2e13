"""A pygls 2.x server exercising each kind of concurrency the WASI adapter must make cooperative.

Every answer says what ran, so tests can tell that async handlers, tasks,
timers and pool work really ran to completion on the guest's one thread.
"""

import asyncio
import select
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from lsprotocol import types
from pygls.lsp.server import LanguageServer

server = LanguageServer("adapter-server", "v1")
pool = ThreadPoolExecutor(max_workers=2)
debouncers: dict[str, threading.Timer] = {}
changes: dict[str, int] = {}


def busy(seconds: float) -> None:
    """Hold the one thread, as a slow handler would (time.sleep hangs under Node's WASI)."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        select.select([], [], [], left)


@server.feature("adapter/sync")
def sync(ls, params):
    return {"kind": "sync", "n": getattr(params, "n", None)}


@server.feature("adapter/async")
async def async_(ls, params):
    await asyncio.sleep(0.05)
    return {"kind": "async"}


@server.thread()
@server.feature("adapter/threaded")
def threaded(ls, params):
    return {"kind": "threaded", "thread": threading.current_thread().name}


@server.feature("adapter/blocking-waits")
def blocking_waits(ls, params):
    """A handler that blocks as threaded servers do: a reader thread feeds a queue, a flag is polled."""
    import queue

    lines, flag = queue.Queue(), []

    def reader():
        for line in ("a", "b", "c"):
            time.sleep(0.01)
            lines.put(line)
        lines.put(None)

    threading.Thread(target=reader, daemon=True).start()
    got = []
    while (line := lines.get(timeout=2)) is not None:
        got.append(line)
    threading.Timer(0.05, flag.append, args=(True,)).start()
    polls = 0
    while not flag:
        time.sleep(0.01)
        polls += 1
    return {"lines": got, "flag": flag, "polled": polls > 0}


@server.feature("adapter/slow")
def slow(ls, params):
    busy(params.seconds)
    return {"kind": "slow"}


@server.feature("adapter/tasks")
async def tasks(ls, params):
    loop = asyncio.get_running_loop()
    later = loop.create_future()
    loop.call_later(0.05, later.set_result, "call_later")
    task = asyncio.create_task(asyncio.sleep(0.01, "create_task"))
    return [await task, await later]


@server.feature("adapter/background")
def background(ls, params):
    """Reply at once; a task and a call_later callback report afterwards."""

    async def report():
        await asyncio.sleep(0.02)
        ls.window_log_message(types.LogMessageParams(types.MessageType.Info, "task done"))

    asyncio.get_running_loop().create_task(report())
    asyncio.get_running_loop().call_later(
        0.1, lambda: ls.window_log_message(types.LogMessageParams(types.MessageType.Info, "call_later done"))
    )
    return "scheduled"


@server.feature("adapter/pools")
async def pools(ls, params):
    submitted = pool.submit(lambda: 6 * 7)
    in_executor = await asyncio.get_running_loop().run_in_executor(None, sum, [1, 2, 3])
    started = []
    worker = threading.Thread(target=started.append, args=("thread",))
    worker.start()
    worker.join(5)
    return {"submit": submitted.result(timeout=5), "run_in_executor": in_executor, "thread": started}


@server.feature("adapter/print")
def stray_print(ls, params):
    print("a stray print must not reach the LSP stream")
    return "printed"


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def changed(ls, params):
    """Debounce with threading.Timer: only the last of a burst of edits publishes diagnostics."""
    uri = params.text_document.uri
    changes[uri] = changes.get(uri, 0) + 1
    if uri in debouncers:
        debouncers[uri].cancel()
    timer = debouncers[uri] = threading.Timer(0.2, publish, args=(ls, uri, params.text_document.version))
    timer.start()


def publish(ls, uri, version):
    message = f"{changes.pop(uri)} edits, debounced"
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
        uri=uri, version=version,
        diagnostics=[types.Diagnostic(types.Range(types.Position(0, 0), types.Position(0, 1)), message)],
    ))


if __name__ == "__main__":
    print("starting", file=sys.stderr)
    server.start_io()
