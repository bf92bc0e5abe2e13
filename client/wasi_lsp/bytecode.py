"""Byte-compiling a tree with the guest's own Python (guest environments, the overlay, bundles)."""

from __future__ import annotations

from pathlib import Path

from wasi_lsp.errors import WasiLspError
from wasi_lsp.runtime import Runtime, runtime_env, runtime_mounts


def compile_bytecode(runtime: Runtime, root: Path, *, guest_dir: str) -> None:
    """Byte-compile with the guest's own Python, so the .pyc match its version.

    Hash-based, unchecked pycs: a read-only environment never changes, so the
    guest need not compare source timestamps at import.
    """
    from wasi_lsp.hosts import embedded
    from wasi_lsp.spec import Mount, RunSpec

    spec = RunSpec(
        runtime=runtime,
        args=("-S", "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash", guest_dir),
        mounts=(*runtime_mounts(runtime), Mount(root, guest_dir, read_only=False)),
        env=runtime_env(runtime),
    )
    code, out, err = embedded.run_captured(spec)
    if code not in (0, 1):  # 1: some file did not compile (e.g. py2-only test data); not fatal
        raise WasiLspError(f"byte-compiling {root} in the guest failed (exit {code}): {(out + err)[-1500:]}")
