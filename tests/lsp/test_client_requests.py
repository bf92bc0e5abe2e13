"""Server-to-client requests: the server asks, the test client answers, the server uses the answer."""

import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsp_helpers import PYGLS2, SERVERS, initialize
from wasi_lsp.pytest_plugin import matrix


@pytest_lsp.fixture(config=matrix("client_requests_server:server", requirements=PYGLS2, dirs=[SERVERS]))
async def client(lsp_client: LanguageClient):
    registrations: list[types.RegistrationParams] = []

    @lsp_client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register(params: types.RegistrationParams):
        registrations.append(params)

    lsp_client.registrations = registrations
    lsp_client.set_configuration({"corpus": {"level": 3, "name": "naïve 🐍"}, "other": [1, 2]})
    await initialize(lsp_client)
    yield
    await lsp_client.shutdown_session()


async def test_workspace_configuration(client: LanguageClient):
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="corpus.config", arguments=["corpus.level", "corpus.name", "other", "missing"]))
    assert result == [3, "naïve 🐍", [1, 2], None]


async def test_register_capability_after_initialized(client: LanguageClient):
    while "registered" not in [m.message for m in client.log_messages]:
        await client.wait_for_notification(types.WINDOW_LOG_MESSAGE)
    [params] = client.registrations
    [registration] = params.registrations
    assert registration.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES
    assert registration.register_options["watchers"] == [{"globPattern": "**/*.corpus"}]
