"""``python -m wasi_lsp_guest.serve TARGET [ARGS]``: start a server named by spec.

TARGET is ``module`` (run as ``-m``), ``module:object`` where object is a
server (``start_io()`` is called) or a callable (called; a server it returns
is started).
"""

from __future__ import annotations

import importlib
import importlib.util
import runpy
import sys

#: The exit code of a server that could not even be found (the host's usage errors use 2 too).
NOT_FOUND = 2


def _fail(message: str, fix: str) -> None:
    """One message and its fix, as the host prints its own errors; no traceback."""
    print(f"wasi-lsp: error: {message}\n  fix: {fix}", file=sys.stderr)
    raise SystemExit(NOT_FOUND)


def _missing(error: ModuleNotFoundError, module_name: str) -> bool:
    """Whether ``error`` says the named module (or a package above it) is absent, not something it imports."""
    return bool(error.name) and (module_name == error.name or module_name.startswith(error.name + "."))  # type: ignore[operator]


def _require_module(target: str, module_name: str) -> None:
    try:
        found = importlib.util.find_spec(module_name) is not None
    except ModuleNotFoundError as error:  # a parent package is missing
        if not _missing(error, module_name):
            raise
        found = False
    if not found:
        _fail(f"no module, module:object or console script named {target!r} in the guest environment",
              "add the distribution that provides it (--with NAME, or requirements in [tool.wasi-lsp]), "
              "mount the directory that holds it (--dir), or check the spelling")


def main() -> None:
    if len(sys.argv) < 2:
        print("usage: python -m wasi_lsp_guest.serve module[:object] [args...]", file=sys.stderr)
        raise SystemExit(2)
    target, args = sys.argv[1], sys.argv[2:]
    module_name, _, attr = target.partition(":")
    _require_module(target, module_name)
    sys.argv = [module_name, *args]
    if not attr:
        runpy.run_module(module_name, run_name="__main__", alter_sys=True)
        return
    obj = importlib.import_module(module_name)
    for part in attr.split("."):
        if not hasattr(obj, part):
            _fail(f"module {module_name!r} has no object {attr!r} (in {target!r})",
                  f"name an object {module_name} defines: a pygls server, or a callable that returns one")
        obj = getattr(obj, part)
    if not hasattr(obj, "start_io") and callable(obj):
        obj = obj()
    if hasattr(obj, "start_io"):
        obj.start_io()
    elif isinstance(obj, int):
        raise SystemExit(obj)


if __name__ == "__main__":
    main()
