"""Ahead-of-time compilation of the runtime, cached per machine.

Compiling the 26 MB module takes seconds; deserializing a compiled artifact
takes about a millisecond. The cache key covers everything that makes an
artifact valid: the wasmtime version, the runtime's hash and the engine
settings. Every artifact is hashed before it is deserialized, because
wasmtime trusts a deserialized artifact completely: a corrupted one is
recompiled, never loaded.
"""

from __future__ import annotations

import atexit
import os
import sys
from functools import lru_cache
from pathlib import Path

from wasi_lsp import cache
from wasi_lsp.errors import WasiLspError
from wasi_lsp.progress import progress
from wasi_lsp.runtime import Runtime, verify

#: Settings that change the compiled code. Epoch interruption (a check at every
#: loop header and function entry) is compiled in only for runs with a
#: wall-clock limit (``--timeout``): it costs the interpreter 13-19%, so there are
#: two artifacts per runtime, and runs without a limit use the lean one.
ENGINE_SETTINGS = {"cranelift_opt_level": "speed"}


def settings(interruptible: bool) -> dict:
    return {**ENGINE_SETTINGS, "epoch_interruption": interruptible}


@lru_cache(maxsize=1)
def wasmtime_version() -> str:
    """The installed wasmtime's version, read from its dist-info beside the package.

    ``importlib.metadata`` would cost a warm start ~10 ms; it is only the fallback.
    """
    import wasmtime

    site = Path(wasmtime.__file__).resolve().parent.parent
    found = sorted(site.glob("wasmtime-*.dist-info"))
    if len(found) == 1:
        return found[0].name.removeprefix("wasmtime-").removesuffix(".dist-info")
    from importlib.metadata import version

    return version("wasmtime")


@lru_cache(maxsize=2)
def engine(interruptible: bool = False):
    """The engine for runs with (``interruptible``) or without a wall-clock limit."""
    import wasmtime

    config = wasmtime.Config()
    config.epoch_interruption = interruptible
    for name, value in ENGINE_SETTINGS.items():
        setattr(config, name, value)
    # Dropped at exit while wasmtime can still free it (at interpreter teardown its
    # bindings are gone and the finalizer prints a TypeError).
    atexit.register(engine.cache_clear)
    return wasmtime.Engine(config)


def artifact_paths(runtime_sha256: str, interruptible: bool = False) -> tuple[Path, Path]:
    key = cache.digest(*_identity(runtime_sha256, interruptible).values())
    directory = cache.cache_dir("aot")
    return directory / f"{key}.cwasm", directory / f"{key}.json"


def _identity(runtime_sha256: str, interruptible: bool = False) -> dict:
    """Everything an artifact depends on; recorded beside it and compared on load."""
    return {
        "wasmtime": wasmtime_version(),
        "runtime_sha256": runtime_sha256,
        "settings": settings(interruptible),
        "machine": os.uname().machine,
        "platform": sys.platform,
    }


def load_module(runtime: Runtime, interruptible: bool = False):
    """The compiled module for ``runtime``, from the cache or freshly compiled, for
    :func:`engine` (``interruptible``)."""
    import wasmtime

    runtime_sha256 = verify(runtime)
    artifact, record = artifact_paths(runtime_sha256, interruptible)
    identity = _identity(runtime_sha256, interruptible)

    def cached():
        if cache.artifact_is_intact(artifact, record, identity):
            try:
                return wasmtime.Module.deserialize_file(engine(interruptible), str(artifact))
            except wasmtime.WasmtimeError:
                pass  # stale for this wasmtime build: recompile
        return None

    module = cached()
    if module is not None:
        return module
    with cache.building(artifact, f"the compiled {runtime.wasm.name}"):
        return cached() or compile_module(runtime, artifact, record, interruptible)


def compile_module(runtime: Runtime, artifact: Path, record: Path, interruptible: bool = False):
    import hashlib

    import wasmtime

    runtime_sha256 = verify(runtime, force=True)  # never compile a file that was not just hashed
    cache.sweep_partials(artifact.parent)
    kind = " (with wall-clock limit checks, for --timeout)" if interruptible else ""
    with progress(f"Compiling {runtime.wasm.name} for this machine{kind} (once per wasmtime and runtime)"):
        try:
            module = wasmtime.Module.from_file(engine(interruptible), str(runtime.wasm))
        except wasmtime.WasmtimeError as error:
            raise WasiLspError(
                f"{runtime.wasm} is not a WebAssembly module wasmtime can compile: "
                f"{str(error).strip().splitlines()[0]}",
                fix="pass --runtime PATH to a python.wasm built for wasm32-wasi, or drop it to use the default runtime",
            ) from None
        data = module.serialize()
    cache.atomic_write_bytes(artifact, bytes(data))
    cache.atomic_write_json(
        record,
        {
            **_identity(runtime_sha256, interruptible),
            "sha256": hashlib.sha256(data).hexdigest(),
            "stamp": cache.stat_stamp(artifact),
            "runtime": str(runtime.wasm),
        },
    )
    return module
