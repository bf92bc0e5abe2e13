"""Sync, async and threaded handlers, and work a server schedules for later.

Each command answers with where it ran, so a test can tell that an async
handler really ran to completion and that threaded work really ran (inside
WASI, cooperatively on the one thread).
"""

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from lsprotocol import types
from pygls.lsp.server import LanguageServer

server = LanguageServer("corpus-handlers", "v1")
pool = ThreadPoolExecutor(max_workers=2)


@server.command("corpus.sync")
def sync_command(ls: LanguageServer, *args):
    return {"kind": "sync", "args": list(args)}


@server.command("corpus.async")
async def async_command(ls: LanguageServer, *args):
    await asyncio.sleep(0.05)
    return {"kind": "async", "args": list(args)}


@server.thread()
@server.command("corpus.thread")
def thread_command(ls: LanguageServer, *args):
    return {"kind": "thread", "args": list(args)}


@server.command("corpus.executor")
async def executor_command(ls: LanguageServer, *args):
    """ThreadPoolExecutor.submit and loop.run_in_executor, as libraries use them."""
    submitted = pool.submit(sum, [1, 2, 3]).result(timeout=10)
    loop = asyncio.get_running_loop()
    in_executor = await loop.run_in_executor(None, max, [4, 5, 6])
    return {"submit": submitted, "run_in_executor": in_executor}


@server.command("corpus.later")
def later_command(ls: LanguageServer, *args):
    """Reply now; a task and a loop.call_later callback report afterwards."""

    async def task():
        await asyncio.sleep(0.05)
        ls.window_log_message(types.LogMessageParams(types.MessageType.Info, "create_task ran"))

    loop = asyncio.get_event_loop()
    loop.create_task(task())
    loop.call_later(0.1, lambda: ls.window_log_message(types.LogMessageParams(types.MessageType.Info, "call_later ran")))
    return "scheduled"


@server.command("corpus.timer")
def timer_command(ls: LanguageServer, *args):
    """A threading.Timer debounce: three quick calls, one firing."""
    state = server.__dict__.setdefault("_debounce", {"timer": None, "fired": 0})

    def fire():
        state["fired"] += 1
        ls.window_log_message(types.LogMessageParams(types.MessageType.Info, f"timer fired {state['fired']}"))

    if state["timer"] is not None:
        state["timer"].cancel()
    state["timer"] = threading.Timer(0.2, fire)
    state["timer"].start()
    return "armed"


@server.command("corpus.hang")
def hang_command(ls: LanguageServer, seconds: float = 3600):
    """Never answer in time: what a deadlocked server looks like to its client."""
    import time

    time.sleep(seconds)
    return "woke"


@server.command("corpus.stderr")
def stderr_command(ls: LanguageServer, text: str):
    """Write to stderr, where a server's own logging goes (never to the LSP stream)."""
    import sys

    print(text, file=sys.stderr, flush=True)
    return "written"


@server.command("corpus.env")
def env_command(ls: LanguageServer, *names):
    """The server's own view of its environment variables."""
    import os

    return {name: os.environ.get(name) for name in names}


@server.command("corpus.fail")
def fail_command(ls: LanguageServer, *args):
    raise ValueError("failing on purpose")


if __name__ == "__main__":
    server.start_io()
