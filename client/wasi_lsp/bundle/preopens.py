"""Which ``python.wasm`` can start under VS Code's WASI host, and which cannot.

wasm-wasi-core (``ms-vscode.wasm-wasi-core`` 1.0.2) answers ``fd_prestat_get``
from a single iterator over its preopened directories: a guest may walk them
once; asking for fd 3 again after the end gets ``EINVAL``.

A module that embeds its standard library with wasi-vfs walks them twice.
wasi-vfs's start-up asks the host for every preopen (``fd_prestat_get`` 3, 4,
... until ``EBADF``) to number its embedded directories after them; then
wasi-libc's ``__wasilibc_populate_preopens`` walks them again through
wasi-vfs's forwarding ``fd_prestat_get``, gets ``EINVAL`` for fd 3 and exits
71 (``EX_OSERR``) before Python starts. Traced on the pinned runtime with a
one-pass host: calls 3, 4, 5 (end), then 3 again. The runtime built from
source (no wasi-vfs) makes one walk: 3, 4, 5.

Every wasi-vfs module exports ``wasi_vfs_pack_fs`` (its packer's entry
point), which is what this reads, from the runtime's cached compiled module.
"""

from __future__ import annotations

from wasi_lsp import aot
from wasi_lsp.runtime import Runtime

#: The export every module linked with wasi-vfs has.
WASI_VFS_EXPORT = "wasi_vfs_pack_fs"


def walks_preopens_twice(runtime: Runtime) -> bool:
    return any(export.name == WASI_VFS_EXPORT for export in aot.load_module(runtime).exports)
