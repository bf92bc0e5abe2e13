"""Server-to-client requests: ``workspace/configuration`` and ``client/registerCapability``."""

from lsprotocol import types
from pygls.lsp.server import LanguageServer

server = LanguageServer("corpus-client-requests", "v1")


@server.feature(types.INITIALIZED)
async def initialized(ls: LanguageServer, params: types.InitializedParams):
    """Register a file watcher dynamically, as servers do once the client is ready."""
    await ls.client_register_capability_async(
        types.RegistrationParams(
            registrations=[
                types.Registration(
                    id="corpus-watch",
                    method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                    register_options=types.DidChangeWatchedFilesRegistrationOptions(
                        watchers=[types.FileSystemWatcher(glob_pattern="**/*.corpus")]
                    ),
                )
            ]
        )
    )
    ls.window_log_message(types.LogMessageParams(types.MessageType.Info, "registered"))


@server.command("corpus.config")
async def read_config(ls: LanguageServer, *sections):
    """Ask the client for each section and return what it said."""
    return await ls.workspace_configuration_async(
        types.ConfigurationParams(items=[types.ConfigurationItem(section=s) for s in sections])
    )


if __name__ == "__main__":
    server.start_io()
