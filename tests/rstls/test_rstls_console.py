"""The ``rstls`` console script is the same server, natively over stdio (no wasi-lsp in between)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest_lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from rstls_helpers import SAMPLE, initialize, open_doc, summary

RSTLS = shutil.which("rstls", path=str(Path(sys.executable).parent)) or "rstls"


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[RSTLS], server_env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}))
async def client(lsp_client: LanguageClient):
    await initialize(lsp_client, SAMPLE)
    yield
    await lsp_client.shutdown_session()


async def test_console_script_serves_the_sample(client: LanguageClient):
    got = summary(await open_doc(client, SAMPLE / "errors.rst"))
    assert got[0] == (3, 3, 19, 'Unknown directive type "unknowndirective".')
    assert len(got) == 8
