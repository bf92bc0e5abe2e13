"""Reads the workspace from disk: documents the client never opened, and directory listings."""

import os

from lsprotocol import types
from pygls import uris
from pygls.lsp.server import LanguageServer

server = LanguageServer("corpus-files", "v1")


@server.command("corpus.read")
def read(ls: LanguageServer, uri: str):
    """The text of ``uri`` as the workspace sees it (from disk unless open)."""
    return ls.workspace.get_text_document(uri).source


@server.command("corpus.list")
def listing(ls: LanguageServer, *args):
    """Every file under the workspace root, as URIs, so the client can compare them with its own."""
    root = uris.to_fs_path(ls.workspace.root_uri)
    found = []
    for dirpath, _dirs, files in os.walk(root):
        found.extend(uris.from_fs_path(os.path.join(dirpath, name)) for name in files)
    return sorted(found)


@server.command("corpus.write")
def write(ls: LanguageServer, uri: str, text: str):
    """Write a file in the workspace, so the client can read back what the server wrote."""
    with open(uris.to_fs_path(uri), "w", encoding="utf-8") as f:
        f.write(text)
    return True


@server.feature(types.WORKSPACE_SYMBOL)
def symbols(ls: LanguageServer, params: types.WorkspaceSymbolParams):
    """Lines starting with ``def `` in every file under the workspace folders."""
    out = []
    for folder in ls.workspace.folders.values():
        for dirpath, _dirs, files in os.walk(uris.to_fs_path(folder.uri)):
            for name in files:
                path = os.path.join(dirpath, name)
                with open(path, encoding="utf-8") as f:
                    for n, line in enumerate(f):
                        if line.startswith("def ") and params.query in line:
                            out.append(types.WorkspaceSymbol(
                                name=line[4:].split("(")[0],
                                kind=types.SymbolKind.Function,
                                location=types.Location(uris.from_fs_path(path), types.Range(types.Position(n, 0), types.Position(n, 3))),
                            ))
    return out


if __name__ == "__main__":
    server.start_io()
