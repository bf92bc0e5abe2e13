"""The plugin itself: option parsing, test ids, guest env, timeouts, and stderr in reports."""

import json
import textwrap

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from cache_fixtures import compiled_aot, fresh_cache  # noqa: F401 (fixtures)
from lsp_helpers import PYGLS2, SERVERS, initialize
from wasi_lsp.pytest_plugin import matrix

pytest_plugins = ["pytester"]

GUEST_ENV = {"CORPUS_GREETING": "héllo wörld", "CORPUS_EMPTY": ""}


@pytest_lsp.fixture(config=matrix("handlers_server:server", requirements=PYGLS2, dirs=[SERVERS], env=GUEST_ENV))
async def client(lsp_client: LanguageClient):
    await initialize(lsp_client)
    yield
    await lsp_client.shutdown_session()


async def test_env_reaches_the_server_itself(client: LanguageClient, monkeypatch):
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="corpus.env", arguments=[*GUEST_ENV, "CORPUS_UNSET"]))
    assert result == {**GUEST_ENV, "CORPUS_UNSET": None}


def inner_test(pytester: pytest.Pytester, body: str) -> None:
    pytester.makepyfile(test_inner=textwrap.dedent(f"""
        import pytest_lsp
        from lsprotocol import types
        from pytest_lsp import LanguageClient, client_capabilities
        from wasi_lsp.pytest_plugin import matrix

        SERVERS = {str(SERVERS)!r}
        PYGLS2 = {PYGLS2!r}
    """) + textwrap.dedent(body))


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # A subprocess: the plugin keeps the session's selection in module state.
    return pytester.runpytest_subprocess("-o", "asyncio_mode=auto", "-p", "no:cacheprovider", *args, timeout=240)


@pytest.mark.parametrize("option, value", [("--lsp-runtime", "native,jvm"), ("--wasi-host", "wasmtime,bogus"), ("--lsp-runtime", ",")])
def test_bad_option_is_one_clear_usage_error(pytester, option, value):
    inner_test(pytester, "def test_nothing():\n    pass\n")
    result = run(pytester, option, value)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{option} '{value}': expected a comma-separated list of *"])


def test_ids_follow_the_selection(pytester):
    inner_test(pytester, """
        @pytest_lsp.fixture(config=matrix("handlers_server:server", requirements=PYGLS2, dirs=[SERVERS]))
        async def client(lsp_client: LanguageClient):
            yield

        async def test_one(client):
            pass
    """)
    result = run(pytester, "--collect-only", "-q", "--lsp-runtime", "native,wasi", "--wasi-host", "wasmtime,wasmtime-cli,node")
    result.stdout.fnmatch_lines(["test_inner.py::test_one[[]native[]]", "test_inner.py::test_one[[]wasi-wasmtime[]]",
                                 "test_inner.py::test_one[[]wasi-wasmtime-cli[]]", "test_inner.py::test_one[[]wasi-node[]]"])
    result = run(pytester, "--collect-only", "-q", "--lsp-runtime", "wasi")
    result.stdout.fnmatch_lines(["test_inner.py::test_one[[]wasi-wasmtime[]]", "1 test collected*"])


HUNG = """
    @pytest_lsp.fixture(config=matrix("handlers_server:server", requirements=PYGLS2, dirs=[SERVERS], timeout=15))
    async def client(lsp_client: LanguageClient):
        await lsp_client.initialize_session(types.InitializeParams(capabilities=client_capabilities("neovim")))
        yield
        await lsp_client.shutdown_session()

    async def test_hung_request(client):
        await client.workspace_execute_command_async(types.ExecuteCommandParams(command="corpus.stderr", arguments=["last words before the hang"]))
        await client.workspace_execute_command_async(types.ExecuteCommandParams(command="corpus.hang"))
"""


def test_hung_server_fails_fast_with_its_stderr_in_the_report(pytester, request):
    runtime = request.config.getoption("lsp_runtime").split(",")[0]
    inner_test(pytester, HUNG)
    result = run(pytester, "--lsp-runtime", runtime, "--wasi-host", request.config.getoption("wasi_host").split(",")[0])
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*ServerTimeout: *: no reply to 'workspace/executeCommand' within 15 s*",
        "*guest stderr [[]*[]] (call)*",
        "last words before the hang",
    ])
    assert result.duration < 120


def test_missing_server_dir_is_one_clear_error(pytester):
    inner_test(pytester, """
        CONFIG = matrix("handlers_server:server", dirs=["no such dir"])
    """)
    result = run(pytester, "--collect-only", "-q")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*matrix(dirs=...): */no such dir is not a directory*", "*fix: pass the directory holding the server's code*"])


XDIST_MATRIX = """
import json, os
from pathlib import Path

import pytest

RESULTS = Path(os.environ["MATRIX_RESULTS"])

# What this proves is isolation and one shared build, not latency: on a loaded machine, four
# processes starting servers at once can take longer than the default 30 s to initialize.
@pytest_lsp.fixture(config=matrix("handlers_server:server", requirements=PYGLS2, dirs=[SERVERS],
                                  env={"CORPUS_GREETING": "hi"}, timeout=120))
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(types.InitializeParams(capabilities=client_capabilities("visual-studio-code")))
    yield
    await lsp_client.shutdown_session()

@pytest.mark.parametrize("n", range(4))
async def test_cell(client, n, tmp_path):
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="corpus.env", arguments=["CORPUS_GREETING"]))
    assert result == {"CORPUS_GREETING": "hi"}
    pid = client._server.pid
    (RESULTS / f"{n}-{pid}.json").write_text(json.dumps({"worker": os.environ.get("PYTEST_XDIST_WORKER"), "pid": pid}))
"""


def test_a_user_matrix_runs_under_xdist_each_cell_with_its_own_server(pytester, fresh_cache, tmp_path, monkeypatch):
    """pytest -n 2 over native and wasi cells, on a cold guest environment both workers want at once."""
    results = tmp_path / "results"
    results.mkdir()
    monkeypatch.setenv("MATRIX_RESULTS", str(results))
    inner_test(pytester, XDIST_MATRIX)
    result = run(pytester, "-n", "2", "--lsp-runtime", "native,wasi", "--wasi-host", "wasmtime")
    result.assert_outcomes(passed=8)
    records = [json.loads(p.read_text()) for p in results.iterdir()]
    assert len(records) == 8 and len({r["pid"] for r in records}) == 8, "a server process was shared between cells"
    assert {r["worker"] for r in records} == {"gw0", "gw1"}
    envs = [p.name for p in (fresh_cache / "envs").iterdir()]
    assert len(envs) == 1, f"both workers' builds must end in one environment: {envs}"
    assert not list(fresh_cache.rglob(".*.partial"))
