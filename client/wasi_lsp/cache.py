"""The user cache directory and atomic writes into it.

Everything wasi-lsp caches (compiled runtimes, guest environments, built wheels)
is written under a temporary name and renamed into place, so an interrupted
write is never mistaken for a finished one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path


def cache_root() -> Path:
    """``$WASI_LSP_CACHE_DIR``, else ``$XDG_CACHE_HOME/wasi-lsp``, else ``~/.cache/wasi-lsp``."""
    explicit = os.environ.get("WASI_LSP_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "wasi-lsp"


def cache_dir(kind: str) -> Path:
    path = cache_root() / kind
    path.mkdir(parents=True, exist_ok=True)
    return path


def digest(*parts: object) -> str:
    """A stable key for cache entries built from JSON-able parts."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:32]


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def stat_stamp(path: Path) -> list[int]:
    """What changes whenever a file's bytes may have: size, times, identity.

    ``st_ctime_ns`` cannot be set back by ``utime``, so an unchanged stamp
    means nobody wrote to the file since it was stamped.
    """
    st = os.stat(path)
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: object) -> None:
    atomic_write_bytes(path, json.dumps(obj, indent=2, sort_keys=True).encode())


def staging_dir(final: Path) -> Path:
    """A fresh sibling directory to build ``final`` in; publish it with :func:`publish_dir`."""
    final.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.", suffix=".partial"))


def publish_dir(staging: Path, final: Path, marker: str | None = None) -> None:
    """Move a finished staging directory into place; a concurrent winner is kept.

    With ``marker`` (a file every finished directory has), a ``final`` that
    lacks it is not finished: it is moved aside to be swept, and replaced.
    """
    for _ in range(3):
        try:
            os.rename(staging, final)
            return
        except OSError:
            if not final.is_dir():
                raise
            if marker is None or (final / marker).is_file():
                shutil.rmtree(staging, ignore_errors=True)
                return
            aside = staging_dir(final)
            try:
                os.rename(final, aside / final.name)
            except FileNotFoundError:
                pass  # someone else moved it first
    raise OSError(f"cannot publish {staging} as {final}")


def sweep_partials(directory: Path, older_than: float = 3600.0) -> None:
    """Remove leftovers of interrupted writes (never loaded, but they take space).

    Only old ones: a younger one may belong to a build still running elsewhere.
    """
    if not directory.is_dir():
        return
    import time

    now = time.time()
    for entry in directory.glob(".*.partial"):
        try:
            if now - entry.stat().st_mtime < older_than:
                continue
        except FileNotFoundError:
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
