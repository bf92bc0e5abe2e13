"""Start-up inside the guest: site-packages, compat layer, working directory.

The host passes what it decided through variables of its own:
``WASI_LSP_SITE`` (the environment's site dir, whose ``.pth`` files must be
processed as a real site-packages would be), ``WASI_LSP_PREPEND`` (source dirs
that must win over installed copies), ``WASI_LSP_CWD`` (the guest working
directory; WASI starts every process at ``/``) and ``WASI_LSP_TEMPDIR`` (a temp
dir to use as is, see :func:`_trust_tempdir`).
"""

import os
import sys


def boot() -> None:
    site_dir = os.environ.get("WASI_LSP_SITE")
    if site_dir:
        import site

        site.addsitedir(site_dir)
    prepend = os.environ.get("WASI_LSP_PREPEND")
    if prepend:
        sys.path[1:1] = [p for p in prepend.split(":") if p]
    _trust_tempdir(os.environ.get("WASI_LSP_TEMPDIR"))
    from wasi_lsp_guest import compat

    try:
        compat.install()  # a failing shim stays loud (site reports it) ...
    finally:
        _enter(os.environ.get("WASI_LSP_CWD"))  # ... but relative paths still mean the user's cwd


def _enter(cwd: str | None) -> None:
    if cwd:
        try:
            os.chdir(cwd)
        except OSError as error:
            print(f"wasi-lsp: cannot enter working directory {cwd}: {error}", file=sys.stderr)


def _trust_tempdir(path: str | None) -> None:
    """Make ``path`` tempfile's directory without its write-then-unlink probe.

    tempfile picks its directory by writing a file in each candidate and deleting it.
    Under VS Code's Node extension host, wasm-wasi-core deletes through the trash
    (``useTrash: true``), which code-server's remote file system refuses: every probe
    fails, so tempfile falls back to the working directory (the user's workspace, where
    the undeletable probe files stay) or finds none, and Sphinx cannot start. The VS Code
    bundle mounts a writable folder at ``/tmp`` and names it here.
    """
    if path:
        import tempfile

        tempfile.tempdir = path
