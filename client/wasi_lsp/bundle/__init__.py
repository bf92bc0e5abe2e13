"""``wasi-lsp bundle``: ship a language server as an editor extension.

``vscode`` builds a VS Code extension that runs the server on WASI Python
through ``ms-vscode.wasm-wasi-core``, on the desktop and in VS Code for the
Web; ``standin/`` is the pure-JavaScript host the tests verify it with.
"""
