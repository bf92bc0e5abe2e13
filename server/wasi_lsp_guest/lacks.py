"""What the WASI runtime lacks, recognised from the errors its absence raises.

Shared by the guest pytest plugin (to tell a WASI-impossible test from a
failing one) and by ``wasi-lsp check`` (to tell which dependencies import
modules the runtime does not have). Run as ``python -m wasi_lsp_guest.lacks
NAME...`` it imports each top-level module NAME and prints one JSON object
of results.
"""

from __future__ import annotations

import errno
import importlib
import json
import sys
import types

#: Modules the WASI runtime does not have, and the feature each stands for.
MISSING_MODULES = {
    "ctypes": "ctypes", "_ctypes": "ctypes",
    "multiprocessing": "processes", "_multiprocessing": "processes",
    "_posixsubprocess": "subprocesses", "concurrent.futures.thread": "threads",
    "ssl": "ssl", "_ssl": "ssl", "fcntl": "fcntl", "termios": "terminals", "tty": "terminals",
    "resource": "resource limits", "mmap": "mmap", "readline": "readline", "curses": "curses",
    "_curses": "curses", "tkinter": "tkinter", "_tkinter": "tkinter", "_lzma": "lzma",
}

#: Modules whose frames tell which feature an ENOTSUP/ENOSYS came from.
FRAME_FEATURES = (
    ("subprocess.py", "subprocesses"),
    ("socket.py", "sockets"),
    ("/asyncio/", "sockets (asyncio's event loop needs a socketpair)"),
    ("selectors.py", "sockets"),
    ("threading.py", "threads"),
)

_UNSUPPORTED = {errno.ENOTSUP, errno.ENOSYS, getattr(errno, "EOPNOTSUPP", errno.ENOTSUP)}


def lacked_feature(exc: BaseException | None) -> str | None:
    """The WASI feature whose absence raised ``exc`` (or one of its causes), or None."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        feature = _feature(exc)
        if feature:
            return feature
        exc = exc.__cause__ or exc.__context__
    return None


def _feature(exc: BaseException) -> str | None:
    if isinstance(exc, ModuleNotFoundError) and exc.name in MISSING_MODULES:
        return MISSING_MODULES[exc.name]
    if isinstance(exc, RuntimeError) and "can't start new thread" in str(exc):
        return "threads"
    if isinstance(exc, OSError) and exc.errno in _UNSUPPORTED:
        if "does not support processes" in str(exc):
            return "subprocesses"
        tb, frames = exc.__traceback__, []
        while tb is not None:
            frames.append(tb.tb_frame.f_code.co_filename)
            tb = tb.tb_next
        for filename in reversed(frames):
            for marker, feature in FRAME_FEATURES:
                if marker in filename.replace("\\", "/"):
                    return feature
        return f"this operation ({errno.errorcode.get(exc.errno, exc.errno)})"  # type: ignore[arg-type]
    if isinstance(exc, AttributeError) and isinstance(getattr(exc, "obj", None), types.ModuleType):
        module = exc.obj.__name__  # type: ignore[attr-defined]
        if module in ("os", "posix", "signal", "socket", "select") and exc.name:
            return f"{module}.{exc.name}"
    return None


def probe_imports(names: list[str]) -> dict[str, dict]:
    """``name -> {"ok": bool, "error": str, "lacks": feature or None}`` for each importable name."""
    results: dict[str, dict] = {}
    for name in names:
        try:
            importlib.import_module(name)
            results[name] = {"ok": True, "error": "", "lacks": None}
        except BaseException as exc:  # a module may raise anything at import, SystemExit included
            first = str(exc).splitlines()[0] if str(exc) else ""
            results[name] = {"ok": False, "error": f"{type(exc).__name__}: {first}", "lacks": lacked_feature(exc)}
    return results


if __name__ == "__main__":
    print(json.dumps(probe_imports(sys.argv[1:])))
