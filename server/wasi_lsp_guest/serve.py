"""``python -m wasi_lsp_guest.serve TARGET [ARGS]``: start a server named by spec.

TARGET is ``module`` (run as ``-m``), ``module:object`` where object is a
server (``start_io()`` is called) or a callable (called; a server it returns
is started).
"""

from __future__ import annotations

import importlib
import runpy
import sys


def main() -> None:
    if len(sys.argv) < 2:
        print("usage: python -m wasi_lsp_guest.serve module[:object] [args...]", file=sys.stderr)
        raise SystemExit(2)
    target, args = sys.argv[1], sys.argv[2:]
    module_name, _, attr = target.partition(":")
    sys.argv = [module_name, *args]
    if not attr:
        runpy.run_module(module_name, run_name="__main__", alter_sys=True)
        return
    obj = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    if not hasattr(obj, "start_io") and callable(obj):
        obj = obj()
    if hasattr(obj, "start_io"):
        obj.start_io()
    elif isinstance(obj, int):
        raise SystemExit(obj)


if __name__ == "__main__":
    main()
