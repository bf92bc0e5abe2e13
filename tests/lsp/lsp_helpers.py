"""Shared pieces of the end-to-end LSP tests: where the corpus lives, how a session starts."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities

SERVERS = Path(__file__).resolve().parent.parent / "servers"
#: What the pygls 2 corpus servers need in a guest environment.
PYGLS2 = ["pygls>=2.1,<3", "lsprotocol>=2025.0.0"]


async def initialize(client: LanguageClient, root: Path | None = None, **params) -> types.InitializeResult:
    """Open a session as VS Code would, rooted at ``root`` when given."""
    return await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=root.as_uri() if root else None,
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)] if root else None,
            **params,
        )
    )
