"""A pygls 1.x server with each handler kind, for the WASI adapter's tests.

pygls 1.x builds its event loop when the server is constructed, imports
``multiprocessing.pool.ThreadPool`` at import time and runs ``@server.thread()``
handlers through that pool: all of it must work on WASI's one thread.
"""

import asyncio
from concurrent.futures import ThreadPoolExecutor

from pygls.server import LanguageServer

server = LanguageServer("adapter-pygls1", "v1")
pool = ThreadPoolExecutor()


@server.command("adapter.sync")
def sync(ls, *args):
    return "sync"


@server.command("adapter.async")
async def async_(ls, *args):
    await asyncio.sleep(0.02)
    return "async"


@server.thread()
@server.command("adapter.threaded")
def threaded(ls, *args):
    return "threaded"


@server.command("adapter.pools")
async def pools(ls, *args):
    in_executor = await asyncio.get_running_loop().run_in_executor(None, sum, [1, 2, 3])
    return [pool.submit(lambda: 6 * 7).result(timeout=5), in_executor]


if __name__ == "__main__":
    server.start_io()
