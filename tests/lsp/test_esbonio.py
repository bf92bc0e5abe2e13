"""esbonio 2.1.0, unmodified, on a Sphinx project: native and WASI give the same answers.

esbonio runs Sphinx in a child process (``python -m sphinx_agent`` through
``asyncio.create_subprocess_exec``) and talks JSON-RPC to it over the child's
stdio. Inside WASI that child runs in-guest (``wasi_lsp_guest.cooperative.children``).
Every cell observes the same things (the agent's ``sphinx/appCreated``,
diagnostics from Sphinx warnings, directive and role completion, hover, a
rebuild on save) and must observe exactly what ``esbonio.expected.json``
records, which is what native esbonio answers.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsp_helpers import initialize
from wasi_lsp.pytest_plugin import matrix

ESBONIO = "esbonio==2.1.0"
#: The Sphinx the native side runs (the test environment's); the guest gets the same release.
SPHINX = "sphinx==9.0.4"
TESTS = Path(__file__).resolve().parent.parent
DOCS = TESTS / "esbonio-docs"
EXPECTED = Path(__file__).resolve().parent / "esbonio.expected.json"
#: rstls' sample project (a local extension, an include, a substitution), written for another server:
#: what a project esbonio's test was not written for gives, natively and inside WASI.
SAMPLE = TESTS / "sample-docs"
SAMPLE_EXPECTED = Path(__file__).resolve().parent / "esbonio.sample-docs.expected.json"
#: A cold guest imports Sphinx and builds the project inside WASI: minutes, not seconds.
TIMEOUT = float(os.environ.get("ESBONIO_TEST_TIMEOUT", 240))


def esbonio_matrix():
    log = os.environ.get("ESBONIO_TEST_LOG_DIR")  # debugging: the guest's log in a host folder
    configs = matrix(
        "esbonio", requirements=[ESBONIO, SPHINX], timeout=TIMEOUT, dirs=[log] if log else [],
        env={"WASI_LSP_LOG_FILE": f"{log}/guest.log", "WASI_LSP_LOG_LEVEL": "DEBUG"} if log else {},
        native_command=[sys.executable, "-m", "wasi_lsp_guest.serve", "esbonio.cli:main", "server"],
    )
    for config in configs:
        if config.is_wasi:  # wasi-lsp serve --with esbonio==2.1.0 --with sphinx ... esbonio -- server
            config.server_command = [*config.server_command, "--", "server"]
    return configs


@pytest_lsp.fixture(config=esbonio_matrix())
async def client(lsp_client: LanguageClient, tmp_path: Path):
    async for _ in session(lsp_client, tmp_path / "docs", DOCS):
        yield


@pytest_lsp.fixture(config=esbonio_matrix())
async def sample_client(lsp_client: LanguageClient, tmp_path: Path):
    async for _ in session(lsp_client, tmp_path / "docs", SAMPLE):
        yield


async def session(lsp_client: LanguageClient, root: Path, project: Path):
    """A session rooted at a copy of ``project``, recording ``sphinx/appCreated``."""
    shutil.copytree(project, root)
    lsp_client.root = root
    lsp_client.app_created = []

    @lsp_client.feature("sphinx/appCreated")
    def app_created(params) -> None:
        lsp_client.app_created.append(params)

    @lsp_client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register_capability(params) -> None:
        return None  # esbonio watches pyproject.toml; nothing here changes it

    @lsp_client.feature("sphinx/clientCreated")
    def client_created(params) -> None:
        pass

    debug = {"esbonio": {"logging": {"level": "debug"}}} if os.environ.get("ESBONIO_TEST_DEBUG") else None
    await initialize(lsp_client, root, initialization_options=debug)
    yield
    await lsp_client.shutdown_session()


def uri(client, name: str) -> str:
    return (client.root / name).as_uri()


async def until(client, predicate, what: str, timeout: float = TIMEOUT) -> None:
    async def poll():
        while not predicate():
            await asyncio.sleep(0.1)

    try:
        await asyncio.wait_for(poll(), timeout)
    except TimeoutError:
        log = "\n".join(m.message for m in client.log_messages[-40:])
        pytest.fail(f"no {what} within {timeout} s; esbonio's last log messages:\n{log}")


def open_doc(client, name: str) -> str:
    text = (client.root / name).read_text(encoding="utf-8")
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=uri(client, name), language_id="restructuredtext", version=1, text=text)))
    return text


def save(client, name: str) -> None:
    client.text_document_did_save(types.DidSaveTextDocumentParams(
        types.TextDocumentIdentifier(uri=uri(client, name)), text=(client.root / name).read_text(encoding="utf-8")))


def diagnostics(client, name: str) -> list:
    return sorted([d.range.start.line, d.severity.value if d.severity else None, d.message]
                  for d in client.diagnostics.get(uri(client, name), []))


async def labels(client, name: str, line: int, character: int) -> list[str]:
    result = await client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri(client, name)),
        position=types.Position(line, character)))
    items = result.items if isinstance(result, types.CompletionList) else (result or [])
    return sorted(item.label for item in items)


async def observe(client) -> dict:
    """What an editor would see, reduced to what must not differ between native and WASI."""
    seen: dict = {}
    index = open_doc(client, "index.rst")
    await until(client, lambda: client.app_created, "sphinx/appCreated (the Sphinx agent child did not start)")
    created = client.app_created[0]
    seen["app_created"] = sorted(created) if isinstance(created, dict) else sorted(getattr(created, "_fields", ()))
    save(client, "index.rst")  # esbonio builds on save (and on change), not on open
    await until(client, lambda: client.diagnostics.get(uri(client, "guide.rst")), "diagnostics from Sphinx warnings")
    seen["diagnostics"] = {name: diagnostics(client, name) for name in ("index.rst", "guide.rst")}
    lines = index.splitlines()
    seen["directives"] = await labels(client, "index.rst", lines.index(".. "), 3)
    roles_line = lines.index("Roles start after a colon: :")
    seen["roles"] = await labels(client, "index.rst", roles_line, len(lines[roles_line]))
    seen["hover"] = {}
    for name, (line, character) in {"directive": (lines.index(".. note::"), 5),
                                    "doc target": (lines.index("See :ref:`a-missing-label` and :doc:`guide`."), 38),
                                    "ref target": (lines.index("The :ref:`guide` explains more."), 12)}.items():
        hover = await client.text_document_hover_async(types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri(client, "index.rst")), position=types.Position(line, character)))
        seen["hover"][name] = hover.contents.value if hover and hasattr(hover.contents, "value") else None
    # Fix the broken reference and save: esbonio rebuilds and the warning goes away.
    guide = client.root / "guide.rst"
    fixed = guide.read_text(encoding="utf-8").replace(":doc:`nowhere`", ":doc:`index`")
    guide.write_text(fixed, encoding="utf-8")
    save(client, "guide.rst")
    await until(client, lambda: not diagnostics(client, "guide.rst"), "a rebuild on save clearing the fixed warning")
    seen["after_save"] = {name: diagnostics(client, name) for name in ("index.rst", "guide.rst")}
    return seen


async def observe_any_project(client) -> dict:
    """For a project the test knows nothing about (it needs one warning): what the first build reports, and completion."""
    seen: dict = {}
    index = open_doc(client, "index.rst")
    await until(client, lambda: client.app_created, "sphinx/appCreated")
    save(client, "index.rst")
    # The project must have a warning: its diagnostics are the sign the build ended. (esbonio's
    # $/progress is no such sign inside WASI: the build runs before the client has answered
    # window/workDoneProgress/create, so the progress may be left without its end.)
    await until(client, lambda: any(client.diagnostics.values()), "diagnostics from a build triggered by saving")
    names = sorted(p.relative_to(client.root).as_posix() for p in client.root.rglob("*.rst"))

    def reported() -> dict:
        return {name: diagnostics(client, name) for name in names if diagnostics(client, name)}

    # Diagnostics follow the build's end: take them once they have not changed for 3 s.
    settled = [reported(), asyncio.get_running_loop().time()]

    def quiet() -> bool:
        now = reported()
        if now != settled[0]:
            settled[:] = [now, asyncio.get_running_loop().time()]
        return asyncio.get_running_loop().time() - settled[1] >= 3

    await until(client, quiet, "diagnostics that settle after the build")
    seen["diagnostics"] = settled[0]
    end = len(index.splitlines())
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        types.VersionedTextDocumentIdentifier(uri=uri(client, "index.rst"), version=2),
        [types.TextDocumentContentChangeWholeDocument(text=index + "\n.. \n\nA role: :\n")]))
    seen["directives"] = await labels(client, "index.rst", end + 1, 3)
    seen["roles"] = await labels(client, "index.rst", end + 3, 9)
    return seen


async def test_esbonio_matches_native(client: LanguageClient):
    seen = await observe(client)
    print(json.dumps(seen, indent=1))
    assert seen == json.loads(EXPECTED.read_text(encoding="utf-8"))
    assert not [line for line in client.stderr_lines if "Traceback" in line]


async def test_esbonio_on_another_project_matches_native(sample_client: LanguageClient):
    seen = await observe_any_project(sample_client)
    print(json.dumps(seen, indent=1))
    assert seen == json.loads(SAMPLE_EXPECTED.read_text(encoding="utf-8"))
