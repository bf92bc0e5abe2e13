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
point), which is what this reads, from the export section alone.
"""

from __future__ import annotations

from pathlib import Path

#: The export every module linked with wasi-vfs has.
WASI_VFS_EXPORT = "wasi_vfs_pack_fs"
_EXPORT_SECTION = 7


def _leb(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, at


def export_names(wasm: Path) -> list[str]:
    """The export names of a core WebAssembly module, read from its export section."""
    data = wasm.read_bytes()
    if data[:4] != b"\0asm":
        raise ValueError(f"{wasm} is not a WebAssembly module")
    at = 8
    while at < len(data):
        section, start = data[at], at + 1
        size, start = _leb(data, start)
        if section == _EXPORT_SECTION:
            count, cursor = _leb(data, start)
            names = []
            for _ in range(count):
                length, cursor = _leb(data, cursor)
                names.append(data[cursor:cursor + length].decode("utf-8"))
                cursor += length + 1  # kind byte
                _, cursor = _leb(data, cursor)  # index
            return names
        at = start + size
    return []


def walks_preopens_twice(wasm: Path) -> bool:
    return WASI_VFS_EXPORT in export_names(wasm)
