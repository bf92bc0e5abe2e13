"""Host ``file://`` URIs name the same files in the guest, spaces and non-ASCII included.

The rule: host directories are mounted at the same absolute path in the guest
(pytest's tmp_path tree among them), so no URI is ever translated.
"""

from pathlib import Path

import pytest_lsp
from lsprotocol import types
from pygls import uris
from pytest_lsp import LanguageClient

from lsp_helpers import PYGLS2, SERVERS, initialize
from wasi_lsp.pytest_plugin import matrix

FILES = {
    "main.py": "def hello():\n    pass\n",
    "sub dir/naïve ünïcødé.py": "def ünïcødé_fn(x):\n    return x\n",
    "sub dir/🐍 emoji.txt": "snake 🐍\n",
}


@pytest_lsp.fixture(config=matrix("files_server:server", requirements=PYGLS2, dirs=[SERVERS]))
async def client(lsp_client: LanguageClient, tmp_path: Path):
    root = tmp_path / "wörk späce 🐍" / "project (1)"
    for name, text in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    lsp_client.root = root
    await initialize(lsp_client, root)
    yield
    await lsp_client.shutdown_session()


async def command(client, name, *args):
    return await client.workspace_execute_command_async(types.ExecuteCommandParams(command=name, arguments=list(args)))


async def test_server_reads_files_by_host_uri(client: LanguageClient):
    for name, text in FILES.items():
        uri = (client.root / name).as_uri()
        assert "%20" in uri
        assert await command(client, "corpus.read", uri) == text


async def test_server_uris_are_host_uris(client: LanguageClient):
    listed = await command(client, "corpus.list")
    expected = sorted(uris.from_fs_path(str(client.root / name)) for name in FILES)
    assert listed == expected
    assert sorted(Path(uris.to_fs_path(u)) for u in listed) == sorted(client.root / name for name in FILES)


async def test_server_writes_land_on_the_host(client: LanguageClient):
    target = client.root / "sub dir" / "written by the server ✓.txt"
    assert await command(client, "corpus.write", target.as_uri(), "from the guest 🐍\n") is True
    assert target.read_text(encoding="utf-8") == "from the guest 🐍\n"


async def test_workspace_symbol_locations(client: LanguageClient):
    result = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query=""))
    found = sorted((s.name, s.location.uri) for s in result)
    assert found == [("hello", (client.root / "main.py").as_uri()),
                     ("ünïcødé_fn", (client.root / "sub dir/naïve ünïcødé.py").as_uri())]
