"""Notifications both ways: document sync in, diagnostics / messages / progress out."""

from lsprotocol import types
from pygls.lsp.server import LanguageServer

server = LanguageServer("corpus-notify", "v1")


def lint(ls: LanguageServer, uri: str) -> None:
    """One warning per line containing ``TODO``; an empty list clears them."""
    document = ls.workspace.get_text_document(uri)
    diagnostics = [
        types.Diagnostic(
            range=types.Range(types.Position(n, line.index("TODO")), types.Position(n, line.index("TODO") + 4)),
            message="TODO found",
            severity=types.DiagnosticSeverity.Warning,
            source="corpus",
        )
        for n, line in enumerate(document.lines)
        if "TODO" in line
    ]
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=document.version))


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: LanguageServer, params: types.DidOpenTextDocumentParams):
    lint(ls, params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: LanguageServer, params: types.DidChangeTextDocumentParams):
    lint(ls, params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: LanguageServer, params: types.DidCloseTextDocumentParams):
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[]))


@server.command("corpus.messages")
def messages(ls: LanguageServer, *args):
    ls.window_show_message(types.ShowMessageParams(types.MessageType.Warning, "shown to the user"))
    ls.window_log_message(types.LogMessageParams(types.MessageType.Log, "written to the log"))
    return "sent"


@server.command("corpus.progress")
async def progress(ls: LanguageServer, *args):
    """Work-done progress with a server-created token: create, begin, reports, end."""
    token = "corpus-progress"
    await ls.work_done_progress.create_async(token)
    ls.work_done_progress.begin(token, types.WorkDoneProgressBegin(title="Indexing", percentage=0))
    for percent in (25, 50, 75):
        ls.work_done_progress.report(token, types.WorkDoneProgressReport(message=f"{percent}%", percentage=percent))
    ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message="done"))
    return token


if __name__ == "__main__":
    server.start_io()
