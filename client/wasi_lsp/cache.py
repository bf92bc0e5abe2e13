"""The user cache directory, atomic writes into it, and one builder per entry.

Everything wasi-lsp caches (compiled runtimes, guest environments, overlays,
snapshots, built wheels) is written under a temporary name and renamed into
place, so an interrupted write is never mistaken for a finished one. Builds
of one entry are serialised by :func:`building`, an advisory ``flock`` per
entry: when several processes (pytest-xdist workers, CI shards, editors)
want the same missing entry at once, one builds it and the others wait and
reuse it, so nobody does the work twice and nobody reads half of it. The
kernel drops the lock when its holder dies, so a killed build never blocks
the next one.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
            with contextlib.suppress(FileNotFoundError):  # someone else moved it first
                os.rename(final, aside / final.name)
    raise OSError(f"cannot publish {staging} as {final}")


@contextmanager
def staged(final: Path, *, marker: str | None = None, replace: bool = False) -> Iterator[Path]:
    """Build the cache entry ``final`` in a fresh staging folder, then publish it.

    The block fills the yielded folder; when it ends without an error the
    folder becomes ``final`` (:func:`publish_dir`: a concurrent winner is
    kept; with ``replace``, an existing ``final`` is replaced instead). On any
    error, or an interrupt, the folder is removed and nothing is published,
    so a reader never sees a half-built entry.
    """
    staging = staging_dir(final)
    try:
        yield staging
        if replace:
            if final.exists():
                shutil.rmtree(final)
            os.rename(staging, final)
        else:
            publish_dir(staging, final, marker)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


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


def artifact_is_intact(artifact: Path, record: Path, identity: dict) -> bool:
    """Whether the artifact is exactly what was compiled for ``identity``.

    The full hash is checked whenever the file's stat stamp differs from the
    one recorded when it was last hashed. The stamp includes the inode change
    time, which every write (and every ``utime`` that hides one) moves, so an
    unchanged stamp means unchanged bytes and a warm start skips hashing 27 MB.
    """
    try:
        data = json.loads(record.read_text())
        expected = data["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if any(data.get(key) != value for key, value in json.loads(json.dumps(identity)).items()):
        return False  # stale: compiled for another runtime, wasmtime or setting
    try:
        stamp = stat_stamp(artifact)
    except OSError:
        return False
    if data.get("stamp") == stamp:
        return True
    if file_sha256(artifact) != expected:
        return False
    atomic_write_json(record, {**data, "stamp": stamp})
    return True


def lock_path(final: Path) -> Path:
    """Where the build lock of the cache entry ``final`` lives.

    In a folder of its own, so no listing of entries ever sees a lock file,
    and never deleted: unlinking a lock file another process holds open would
    let a third one lock a new file of the same name at the same time.
    """
    locks = cache_root() / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    return locks / f"{final.name[:40]}-{digest(str(final.absolute()))[:16]}.lock"


@contextmanager
def building(final: Path, what: str | None = None) -> Iterator[None]:
    """Hold the build lock of ``final`` (an entry's path), waiting for another holder to finish.

    Use with a re-check inside: ``if done(): return ...; with building(final): if done(): ...``.
    A waiter says once on stderr what it waits for, so a long wait is never a silent hang.
    """
    fd = os.open(lock_path(final), os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            label = what or final.name
            print(f"wasi-lsp: waiting for another process to finish building {label}...", file=sys.stderr, flush=True)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing drops the lock


def build_once(final: Path, done: Callable[[], bool], build: Callable[[], None], what: str | None = None) -> bool:
    """Make ``done()`` true by running ``build()`` unless it already is; True if this process built it.

    ``done`` is checked before the lock (the warm path takes no lock) and again
    under it (another process may have built it while this one waited).
    """
    if done():
        return False
    with building(final, what):
        if done():
            return False
        build()
        return True
