"""A private wasi-lsp cache per test, seeded with the compiled runtime.

Tests that corrupt or inspect the cache must not touch the user's one, and
compiling the 26 MB runtime again for each of them would take minutes; the
compiled artifact is copied in instead (its name does not depend on the path).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import wasi_lsp


@pytest.fixture(scope="session")
def compiled_aot() -> tuple[Path, Path]:
    """The shared cache's artifact and record for the pinned runtime, compiled if they were not yet."""
    from wasi_lsp import aot
    from wasi_lsp.runtime import PINNED_SHA256

    wasi_lsp("runtime", "compile", "--runtime", "pinned", check=True)
    return aot.artifact_paths(PINNED_SHA256)


@pytest.fixture
def fresh_cache(tmp_path, compiled_aot, monkeypatch) -> Path:
    """An empty ``WASI_LSP_CACHE_DIR`` (set for ``wasi_lsp()`` calls) holding only the compiled pinned runtime.

    The tests using it check cache mechanics against that seeded artifact, so
    they run on the pinned runtime even when the session picked another.
    """
    monkeypatch.setenv("WASI_LSP_RUNTIME", "pinned")
    root = tmp_path / "cache"
    (root / "aot").mkdir(parents=True)
    for path in compiled_aot:
        shutil.copy2(path, root / "aot" / path.name)
    monkeypatch.setenv("WASI_LSP_CACHE_DIR", str(root))
    return root


def flip_byte(path: Path, offset: int | None = None) -> None:
    """Corrupt one byte in place (the middle one unless told)."""
    data = bytearray(path.read_bytes())
    offset = len(data) // 2 if offset is None else offset
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
