"""Sync, async and threaded handlers answer; scheduled work and debounce timers run."""

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsp_helpers import PYGLS2, SERVERS, initialize
from wasi_lsp.pytest_plugin import matrix


@pytest_lsp.fixture(config=matrix("handlers_server:server", requirements=PYGLS2, dirs=[SERVERS]))
async def client(lsp_client: LanguageClient):
    await initialize(lsp_client)
    yield
    await lsp_client.shutdown_session()


async def command(client: LanguageClient, name: str, *args):
    return await client.workspace_execute_command_async(types.ExecuteCommandParams(command=name, arguments=list(args)))


@pytest.mark.parametrize("kind", ["sync", "async", "thread"])
async def test_handler_kinds_reply(client: LanguageClient, kind: str):
    assert await command(client, f"corpus.{kind}", 1, "two") == {"kind": kind, "args": [1, "two"]}


async def test_executor_work_completes(client: LanguageClient):
    assert await command(client, "corpus.executor") == {"submit": 6, "run_in_executor": 6}


async def test_scheduled_tasks_run_after_the_reply(client: LanguageClient):
    assert await command(client, "corpus.later") == "scheduled"
    for expected in ("create_task ran", "call_later ran"):
        while expected not in [m.message for m in client.log_messages]:
            await client.wait_for_notification(types.WINDOW_LOG_MESSAGE)


async def test_debounce_timer_fires_once(client: LanguageClient):
    for _ in range(3):
        assert await command(client, "corpus.timer") == "armed"
    params = await client.wait_for_notification(types.WINDOW_LOG_MESSAGE)
    assert params.message == "timer fired 1"
    # A round trip after the delay: a second firing would have arrived by now.
    assert await command(client, "corpus.sync") == {"kind": "sync", "args": []}
    assert [m.message for m in client.log_messages if m.message.startswith("timer")] == ["timer fired 1"]


async def test_handler_error_is_an_lsp_error_not_a_crash(client: LanguageClient):
    with pytest.raises(Exception, match="failing on purpose"):
        await command(client, "corpus.fail")
    assert await command(client, "corpus.sync", "still up") == {"kind": "sync", "args": ["still up"]}
