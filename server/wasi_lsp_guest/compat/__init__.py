"""The compat layer: what WASI lacks, filled as a single-process, single-threaded POSIX would.

Each shim module has an ``install()``; :data:`SHIMS` lists them in the order
they are installed. A shim either behaves like a POSIX system with one
process and one thread, or raises an error that says what WASI lacks.
"""

from __future__ import annotations

import sys

#: Shim modules, installed in this order.
SHIMS = ("os_shims", "concurrency")


def install() -> None:
    if sys.platform != "wasi":
        return
    for name in SHIMS:
        qualified = f"wasi_lsp_guest.compat.{name}"
        try:
            __import__(qualified)  # not importlib: importing it costs every guest start ~2 ms
        except ModuleNotFoundError as error:
            if error.name == qualified:
                continue
            raise
        sys.modules[qualified].install()
