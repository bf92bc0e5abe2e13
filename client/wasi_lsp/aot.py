"""Ahead-of-time compilation of the runtime, cached per machine.

Compiling the 26 MB module takes seconds; deserializing a compiled artifact
takes about a millisecond. The cache key covers everything that makes an
artifact valid: the wasmtime version, the runtime's hash and the engine
settings. Every artifact is hashed before it is deserialized, because
wasmtime trusts a deserialized artifact completely: a corrupted one is
recompiled, never loaded.
"""

from __future__ import annotations

import json
import platform
import sys
from functools import lru_cache
from pathlib import Path

from wasi_lsp import cache
from wasi_lsp.runtime import Runtime, verify

#: Settings that change the compiled code. Epoch interruption is always on, so
#: one artifact serves runs with and without a wall-clock limit.
ENGINE_SETTINGS = {"epoch_interruption": True, "cranelift_opt_level": "speed"}


@lru_cache(maxsize=1)
def wasmtime_version() -> str:
    from importlib.metadata import version

    return version("wasmtime")


@lru_cache(maxsize=1)
def engine():
    import wasmtime

    config = wasmtime.Config()
    config.epoch_interruption = ENGINE_SETTINGS["epoch_interruption"]
    config.cranelift_opt_level = ENGINE_SETTINGS["cranelift_opt_level"]
    return wasmtime.Engine(config)


def artifact_paths(runtime_sha256: str) -> tuple[Path, Path]:
    key = cache.digest(wasmtime_version(), runtime_sha256, ENGINE_SETTINGS, platform.machine(), sys.platform)
    directory = cache.cache_dir("aot")
    return directory / f"{key}.cwasm", directory / f"{key}.json"


def load_module(runtime: Runtime):
    """The compiled module for ``runtime``, from the cache or freshly compiled."""
    import wasmtime

    runtime_sha256 = verify(runtime)
    artifact, record = artifact_paths(runtime_sha256)
    if artifact.is_file() and _artifact_is_intact(artifact, record):
        try:
            return wasmtime.Module.deserialize_file(engine(), str(artifact))
        except wasmtime.WasmtimeError:
            pass  # stale for this wasmtime build: fall through and recompile
    return compile_module(runtime, artifact, record)


def _artifact_is_intact(artifact: Path, record: Path) -> bool:
    try:
        expected = json.loads(record.read_text())["sha256"]
    except (OSError, ValueError, KeyError):
        return False
    return cache.file_sha256(artifact) == expected


def compile_module(runtime: Runtime, artifact: Path, record: Path):
    import wasmtime

    verify(runtime, force=True)  # never compile a file that was not just hashed
    cache.sweep_partials(artifact.parent)
    with _progress(f"Compiling {runtime.wasm.name} for this machine (once per wasmtime and runtime)"):
        module = wasmtime.Module.from_file(engine(), str(runtime.wasm))
        data = module.serialize()
    import hashlib

    cache.atomic_write_bytes(artifact, data)
    cache.atomic_write_json(
        record,
        {
            "sha256": hashlib.sha256(data).hexdigest(),
            "runtime": str(runtime.wasm),
            "wasmtime": wasmtime_version(),
            "settings": ENGINE_SETTINGS,
        },
    )
    return module


def _progress(message: str):
    """A spinner on an interactive stderr; one plain line otherwise."""
    from contextlib import contextmanager

    @contextmanager
    def plain():
        print(f"wasi-lsp: {message}...", file=sys.stderr, flush=True)
        yield

    if not sys.stderr.isatty():
        return plain()
    from rich.console import Console

    return Console(stderr=True).status(message, spinner="dots")
