"""The README's main job: rstls running inside WASI, driven the way an editor drives it.

    python scripts/demo.py            # rstls in WASI, via `wasi-lsp serve rstls`
    python scripts/demo.py --native   # the same server on this CPython, for comparison

It opens every document of tests/sample-docs with a pygls LanguageClient and
prints what an editor would show: the diagnostics of each file, the outline
of index.rst, and the resolution of a ``:ref:`` (its definition and hover).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient
from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.tree import Tree

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "tests" / "sample-docs"
#: index.rst line 6 is "See :ref:`install` to get started, ..."; column 12 is inside "install".
REF_LINE, REF_COLUMN = 6, 12
console = Console()


def server_command(native: bool) -> list[str]:
    if native:
        return [sys.executable, "-m", "rstls"]
    return [sys.executable, "-m", "wasi_lsp", "serve", "--dir", str(SAMPLE), "rstls"]


def prepare_guest_env() -> None:
    """Build the guest environment up front (a first run downloads), so its progress is visible."""
    from wasi_lsp.overlay import guest_requirements

    args = [arg for req in guest_requirements("rstls") for arg in ("--with", req)]
    with console.status("preparing the WASI guest environment (first run downloads Sphinx & co.)"):
        proc = subprocess.run([sys.executable, "-m", "wasi_lsp", "env", "build", *args],
                              capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        console.print(proc.stderr or proc.stdout, style="red")
        raise SystemExit(proc.returncode)


class Editor:
    """A tiny editor: one pygls client, the diagnostics it was sent, and events to wait on them."""

    def __init__(self):
        self.client = LanguageClient("rstls-demo", "1.0")
        self.diagnostics: dict[str, list[types.Diagnostic]] = {}
        self.arrived: dict[str, asyncio.Event] = {}

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_diagnostics(params: types.PublishDiagnosticsParams):
            self.diagnostics[params.uri] = list(params.diagnostics)
            self.event(params.uri).set()

        @self.client.feature(types.WINDOW_LOG_MESSAGE)
        def on_log(params: types.LogMessageParams):
            console.print(f"[dim]server: {params.message}[/dim]")

    def event(self, uri: str) -> asyncio.Event:
        return self.arrived.setdefault(uri, asyncio.Event())

    async def open(self, path: Path) -> None:
        uri = path.as_uri()
        self.event(uri).clear()
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id="restructuredtext", version=1, text=path.read_text())))
        await asyncio.wait_for(self.event(uri).wait(), 300)


async def run(native: bool) -> int:
    editor = Editor()
    client = editor.client
    command = server_command(native)
    console.rule("[bold]rstls " + ("natively" if native else "inside WASI"))
    console.print("$ " + " ".join(Path(command[0]).name if i == 0 else a for i, a in enumerate(command)), style="dim")
    started = time.perf_counter()
    await client.start_io(*command, cwd=str(REPO))
    result = await asyncio.wait_for(client.initialize_async(types.InitializeParams(
        capabilities=types.ClientCapabilities(),
        root_uri=SAMPLE.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=SAMPLE.as_uri(), name=SAMPLE.name)])), 300)
    client.initialized(types.InitializedParams())
    documents = sorted(SAMPLE.glob("*.rst"))
    for path in documents:
        await editor.open(path)
    console.print(f"{result.server_info.name} {result.server_info.version} ready, "
                  f"{len(documents)} documents open in {time.perf_counter() - started:.1f}s\n")

    show_diagnostics(editor, documents)
    await show_outline(client, SAMPLE / "index.rst")
    ok = await show_reference(client, SAMPLE / "index.rst")

    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return 0 if ok and editor.diagnostics.get((SAMPLE / "errors.rst").as_uri()) else 1


def show_diagnostics(editor: Editor, documents: list[Path]) -> None:
    table = Table(title="Diagnostics", title_justify="left", expand=True)
    for column in ("file", "line:col", "severity", "source", "message"):
        table.add_column(column, overflow="fold")
    paths = sorted({*documents, *(Path(uri[len("file://"):]) for uri in editor.diagnostics)})
    for path in paths:
        found = editor.diagnostics.get(path.as_uri(), [])
        if not found:
            table.add_row(path.name, "", "[green]ok[/green]", "", "no problems")
        for d in found:
            severity = "[red]error[/red]" if d.severity == types.DiagnosticSeverity.Error else "[yellow]warning[/yellow]"
            table.add_row(path.name, f"{d.range.start.line + 1}:{d.range.start.character + 1}", severity,
                          d.source or "", escape(d.message))
    console.print(table)


async def show_outline(client: LanguageClient, path: Path) -> None:
    symbols = await client.text_document_document_symbol_async(types.DocumentSymbolParams(
        text_document=types.TextDocumentIdentifier(uri=path.as_uri())))
    tree = Tree(f"[bold]Outline of {path.name}")

    def add(node, items):
        for symbol in items or []:
            add(node.add(f"{symbol.name} [dim](line {symbol.selection_range.start.line + 1})[/dim]"), symbol.children)

    add(tree, symbols)
    console.print(tree)


async def show_reference(client: LanguageClient, path: Path) -> bool:
    where = types.TextDocumentIdentifier(uri=path.as_uri())
    position = types.Position(line=REF_LINE, character=REF_COLUMN)
    line = path.read_text().splitlines()[REF_LINE]
    locations = await client.text_document_definition_async(types.DefinitionParams(text_document=where, position=position))
    hover = await client.text_document_hover_async(types.HoverParams(text_document=where, position=position))
    if not locations or hover is None:
        console.print(f"[red]the :ref: on {path.name}:{REF_LINE + 1} did not resolve[/red]")
        return False
    target = locations[0]
    target_path = Path(target.uri[len("file://"):])
    target_line = target_path.read_text().splitlines()[target.range.start.line]
    body = (f"[bold]{path.name}:{REF_LINE + 1}[/bold]  {line.strip()}\n\n"
            f"go to definition -> [bold]{target_path.name}:{target.range.start.line + 1}[/bold]  {target_line.strip()}\n")
    console.print(Panel(body, title="A resolved :ref:", title_align="left"))
    console.print(Panel(Markdown(hover.contents.value), title="hover", title_align="left"))
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--native", action="store_true", help="run rstls on this CPython instead of inside WASI")
    options = parser.parse_args()
    if not options.native:
        prepare_guest_env()
    return asyncio.run(run(options.native))


if __name__ == "__main__":
    sys.exit(main())
