"""The guest-side pygls adapter and cooperative concurrency, end to end.

Each test starts an unmodified pygls server inside WASI with ``wasi-lsp serve``
(embedded wasmtime host) and drives it as an editor would, with pytest-lsp or
pygls' own client. The 3-host matrix runs the shared corpus in tests/lsp.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled
from pygls.lsp.client import LanguageClient as PyglsClient
from pytest_lsp import ClientServerConfig, LanguageClient

from wasi_lsp.pytest_plugin import serve_command as plugin_serve_command

SERVERS = Path(__file__).resolve().parent / "servers"
PYGLS2 = ("pygls==2.1.1",)
PYGLS1 = ("pygls==1.3.1",)


def serve_command(spec: str, requirements=PYGLS2, *options: str) -> list[str]:
    """``wasi-lsp serve`` for a server module in tests/servers, mounted and first on the guest's path."""
    return plugin_serve_command(spec, requirements=requirements, dirs=[SERVERS], options=options)


async def request(client, method: str, params=None, msg_id=None, timeout: float = 30):
    return await asyncio.wait_for(client.protocol.send_request_async(method, params, msg_id=msg_id), timeout)


async def open_session(client) -> None:
    await asyncio.wait_for(client.initialize_session(types.InitializeParams(capabilities=types.ClientCapabilities())), 60)


@pytest_lsp.fixture(config=ClientServerConfig(server_command=serve_command("adapter_server:server")))
async def client(lsp_client: LanguageClient):
    await open_session(lsp_client)
    yield
    await asyncio.wait_for(lsp_client.shutdown_session(), 30)


async def test_sync_async_and_threaded_handlers_reply(client: LanguageClient):
    assert (await request(client, "adapter/sync", {"n": 1})).kind == "sync"
    assert (await request(client, "adapter/async")).kind == "async"
    assert (await request(client, "adapter/threaded")).kind == "threaded"


async def test_a_handler_blocking_on_a_queue_and_a_sleep_loop_lets_threads_and_timers_run(client: LanguageClient):
    result = await request(client, "adapter/blocking-waits")
    assert (result.lines, result.flag, result.polled) == (["a", "b", "c"], [True], True)


async def test_create_task_and_call_later_run(client: LanguageClient):
    assert await request(client, "adapter/tasks") == ["create_task", "call_later"]


async def test_work_scheduled_after_the_reply_still_runs(client: LanguageClient):
    assert await request(client, "adapter/background") == "scheduled"
    deadline = time.monotonic() + 10
    while len(client.log_messages) < 2 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    # Their order is not the point: a server descheduled for 0.1 s finds both due at once.
    assert sorted(m.message for m in client.log_messages) == ["call_later done", "task done"]


async def test_pool_submit_run_in_executor_and_thread_start(client: LanguageClient):
    result = await request(client, "adapter/pools")
    assert (result.submit, result.run_in_executor, result.thread) == (42, 6, ["thread"])


async def test_timer_debouncer_publishes_once_after_a_burst(client: LanguageClient):
    uri = "file:///debounce.txt"
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=uri, language_id="plaintext", version=1, text="a")))
    for version in (2, 3, 4):
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            [types.TextDocumentContentChangeWholeDocument(text="a" * version)]))
    await asyncio.wait_for(client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS), 10)
    await asyncio.sleep(0.5)  # a second publication would arrive by now
    assert [d.message for d in client.diagnostics[uri]] == ["4 edits, debounced"]
    assert len(client.diagnostics) == 1


async def test_cancelling_a_queued_request_answers_request_cancelled(client: LanguageClient):
    slow = asyncio.ensure_future(request(client, "adapter/slow", {"seconds": 0.5}))
    queued = asyncio.ensure_future(request(client, "adapter/sync", {"n": 2}, msg_id="queued-1"))
    await asyncio.sleep(0.1)  # both requests are sent; the slow one holds the server's one thread
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="queued-1"))
    with pytest.raises(JsonRpcRequestCancelled):
        await queued
    assert (await slow).kind == "slow"


async def test_stray_print_goes_to_stderr_not_the_lsp_stream(client: LanguageClient):
    assert await request(client, "adapter/print") == "printed"
    assert (await request(client, "adapter/sync", {"n": 3})).n == 3


async def start_raw(spec: str = "adapter_server:server", requirements=PYGLS2, *options: str,
                    initialize: bool = True) -> PyglsClient:
    """pygls' own client, so the test can reach the server's pipes (stderr is not forwarded)."""
    raw = PyglsClient("adapter-test", "v1")
    await raw.start_io(*serve_command(spec, requirements, *options))
    if initialize:
        await initialize_raw(raw)
    return raw


async def initialize_raw(raw: PyglsClient):
    params = types.InitializeParams(capabilities=types.ClientCapabilities())
    return await asyncio.wait_for(raw.initialize_async(params), 60)


def record_error_replies(raw: PyglsClient) -> list:
    """Error responses the server sent with no request id (pygls' client would only log them)."""
    replies = []
    handle = raw.protocol._handle_response

    def recording(msg_id, result=None, error=None):
        if msg_id is None:
            replies.append(error)
        else:
            handle(msg_id, result, error)

    raw.protocol._handle_response = recording
    return replies


async def test_malformed_frames_are_answered_with_parse_errors_and_the_session_goes_on():
    raw = await start_raw(initialize=False)
    replies = record_error_replies(raw)
    raw._server.stdin.write(b"Content-Length: twelve\r\n\r\n")
    raw._server.stdin.write(b"Content-Length: 7\r\n\r\n{oops!}")
    result = await initialize_raw(raw)
    assert result.server_info.name == "adapter-server"
    assert [error.code for error in replies] == [-32700, -32700]
    raw._server.stdin.close()
    assert (await exit_of(raw, time.monotonic()))[0] == 0


async def test_huge_content_length_is_refused_without_allocating_it():
    raw = await start_raw("adapter_server:server", PYGLS2, "--max-memory", "1G")
    replies = record_error_replies(raw)
    raw._server.stdin.write(b"Content-Length: 1000000000000\r\n\r\n" + b"x" * 1_000_000)
    await raw._server.stdin.drain()
    since = time.monotonic()
    raw._server.stdin.close()
    code, elapsed, stderr = await exit_of(raw, since)
    assert code == 0, stderr
    assert elapsed < 1, f"took {elapsed:.2f} s to exit after stdin EOF"
    assert [error.code for error in replies] == [-32700]
    assert "exceeds" in replies[0].message


async def exit_of(raw: PyglsClient, since: float) -> tuple[int, float, list[bytes]]:
    code = await asyncio.wait_for(raw._server.wait(), 10)
    elapsed = time.monotonic() - since
    stderr = (await raw._server.stderr.read()).splitlines()
    return code, elapsed, stderr


async def test_exits_quietly_within_a_second_of_stdin_eof():
    raw = await start_raw()
    since = time.monotonic()
    raw._server.stdin.close()
    code, elapsed, stderr = await exit_of(raw, since)
    assert elapsed < 1, f"took {elapsed:.2f} s to exit after stdin EOF"
    assert len(stderr) <= 5, stderr
    assert code == 0, stderr


async def close_server_stdout(raw: PyglsClient) -> None:
    """Close our end of the server's stdout and wait until the descriptor is really closed.

    asyncio's ``close()`` only schedules the close for the loop's next turn; a
    request sent before that turn can be answered into the still-open pipe, and
    then the server, rightly, has no failed write to notice.
    """
    transport = raw._server._transport.get_pipe_transport(1)
    pipe = transport.get_extra_info("pipe")
    transport.close()
    for _ in range(100):
        if pipe.closed:
            return
        await asyncio.sleep(0)
    raise AssertionError("the server's stdout pipe did not close")


async def test_exits_quietly_at_its_first_write_after_stdout_closes():
    """The reply to ``adapter/sync`` is the first write into the closed pipe: the server ends there, with code 1.

    No wall-clock bound of a second (a loaded 2-core machine needed 1.25 s to
    tear the process down); ending at the write, with ``os._exit`` and so no
    exit-time garbage collection, is what keeps it quick, so that is checked.
    """
    raw = await start_raw()
    await close_server_stdout(raw)  # the editor went away
    since = time.monotonic()
    raw.protocol.notify("adapter/unknown-notification", {})
    raw.protocol.send_request("adapter/sync", {"n": 4})
    code, elapsed, stderr = await exit_of(raw, since)
    assert code == 1, stderr
    assert len(stderr) <= 5, stderr
    assert b"wasi-lsp: the client closed the connection" in stderr[-1], stderr


@pytest.mark.parametrize(("shutdown", "expected"), [(True, 0), (False, 1)])
async def test_exit_code_follows_shutdown(shutdown: bool, expected: int):
    raw = await start_raw()
    if shutdown:
        await asyncio.wait_for(raw.shutdown_async(None), 10)
    since = time.monotonic()
    raw.exit(None)
    code, _, stderr = await exit_of(raw, since)
    assert code == expected, stderr


@pytest_lsp.fixture(config=ClientServerConfig(server_command=serve_command("pygls1_adapter_server:server", PYGLS1)))
async def client_v1(lsp_client: LanguageClient):
    await open_session(lsp_client)
    yield
    await asyncio.wait_for(lsp_client.shutdown_session(), 30)


async def command(client, name: str):
    params = types.ExecuteCommandParams(command=name, arguments=[])
    return await asyncio.wait_for(client.workspace_execute_command_async(params), 30)


async def test_pygls1_server_runs_every_handler_kind(client_v1: LanguageClient):
    assert await command(client_v1, "adapter.sync") == "sync"
    assert await command(client_v1, "adapter.async") == "async"
    assert await command(client_v1, "adapter.threaded") == "threaded"
    assert await command(client_v1, "adapter.pools") == [42, 6]


COOPERATIVE_SCRIPT = """
import asyncio, multiprocessing, multiprocessing.pool, threading, time
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.dummy import Pool as DummyPool

order = []
worker = threading.Thread(target=order.append, args=("thread",))
worker.start()
order.append("main")  # a started thread runs at the next idle point, not at once
worker.join()
print("thread", order, worker.is_alive())

fired = []
woken = threading.Event()
start = time.monotonic()
threading.Timer(0.2, lambda: (fired.append(time.monotonic() - start), woken.set())).start()
cancelled = threading.Timer(0.1, fired.append, args=("cancelled",))
cancelled.start()
cancelled.cancel()
print("timer", fired, woken.wait(5), time.monotonic() - start)

print("submit", ThreadPoolExecutor().submit(pow, 2, 10).result())

start = time.monotonic()
time.sleep(0.1)  # under Node's WASI the real time.sleep never returns
print("sleep", time.monotonic() - start >= 0.1)

async def main():
    loop = asyncio.get_running_loop()
    later = loop.create_future()
    loop.call_later(0.05, later.set_result, "later")
    task = asyncio.create_task(asyncio.sleep(0.01, "task"))
    return [await loop.run_in_executor(None, sum, [1, 2]), await task, await later]

print("asyncio", asyncio.run(main()))
print("new_event_loop", asyncio.new_event_loop().run_until_complete(asyncio.sleep(0, "ok")))
print("pools", multiprocessing.cpu_count(), multiprocessing.pool.ThreadPool(2).map(abs, [-1, -2]),
      DummyPool(2).apply_async(len, ("abc",)).get())
try:
    multiprocessing.Pool()
except multiprocessing.ProcessesUnavailable as error:
    print("Pool", error)
"""


def test_cooperative_threads_pools_timers_and_asyncio_outside_a_server(host: str):
    from conftest import wasi_lsp

    proc = wasi_lsp("run", "--host", host, "--", "-c", COOPERATIVE_SCRIPT)
    assert proc.returncode == 0, proc.stderr
    lines = dict(line.split(" ", 1) for line in proc.stdout.splitlines())
    assert lines["thread"] == "['main', 'thread'] False"
    # The timer runs inside the wait, never early, and wakes it long before the wait's own 5 s.
    fired, woken, waited = lines["timer"].rsplit(" ", 2)
    (at,) = eval(fired)
    assert woken == "True" and 0.2 <= at <= float(waited) < 2.5, lines["timer"]
    assert lines["submit"] == "1024"
    assert lines["sleep"] == "True"
    assert lines["asyncio"] == "[3, 'task', 'later']"
    assert lines["new_event_loop"] == "ok"
    assert lines["pools"] == "1 [1, 2] 3"
    assert lines["Pool"].startswith("multiprocessing.Pool: WASI has no processes")
    assert "can't start new thread" not in proc.stderr


@pytest.mark.parametrize(("name", "says"), [
    ("no_such_server", "no module, module:object or console script named 'no_such_server' in the guest environment"),
    ("no_such_package.server", "console script named 'no_such_package.server' in the guest environment"),
    ("no_such_server:server", "console script named 'no_such_server:server' in the guest environment"),
    ("adapter_server:no_such_object", "module 'adapter_server' has no object 'no_such_object'"),
])
def test_serving_what_does_not_exist_is_one_message_and_its_fix(name: str, says: str):
    proc = subprocess.run(serve_command(name), input="", capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2 and says in lines[0] and lines[1].startswith("  fix: "), proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_server_whose_own_import_fails_still_shows_that_error(tmp_path: Path):
    (tmp_path / "broken_server.py").write_text("import no_such_dependency_of_the_server\n")
    command = plugin_serve_command("broken_server", requirements=PYGLS2, dirs=[tmp_path])
    proc = subprocess.run(command, input="", capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert "No module named 'no_such_dependency_of_the_server'" in proc.stderr
    assert "in the guest environment" not in proc.stderr
