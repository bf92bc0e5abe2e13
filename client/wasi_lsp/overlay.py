"""The guest overlay: wasi-lsp's own guest packages, mounted read-only into every guest.

The guest packages (``wasi_lsp_guest``, ``rstls``) are found where they are
importable on the host, copied without host-only dependencies, topped with
the ``sitecustomize`` that boots the compat layer, and byte-compiled by the
guest's Python. The overlay is keyed by the sources' stat fingerprint, so an
edit to ``server/`` is picked up on the next run.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from wasi_lsp import cache
from wasi_lsp.errors import WasiLspError
from wasi_lsp.runtime import Runtime
from wasi_lsp.shipped_servers import SHIPPED_SERVERS

GUEST_OVERLAY = "/wasi-lsp/guest"
GUEST_PACKAGES = ("wasi_lsp_guest", *(server.package for server in SHIPPED_SERVERS.values()))


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise WasiLspError(
            f"the guest package {name} is not importable on the host, so it cannot be mounted into the guest",
            fix="reinstall wasi-lsp (pip install --force-reinstall wasi-lsp)",
        )
    return Path(list(spec.submodule_search_locations)[0])


def _sources(root: Path):
    for path in sorted(root.rglob("*")):
        if "__pycache__" in path.parts or path.suffix in (".pyc", ".pyo") or not path.is_file():
            continue
        yield path


def fingerprint(runtime: Runtime) -> str:
    parts: list[object] = [runtime.sha256(), runtime.tag]
    for name in GUEST_PACKAGES:
        root = _package_dir(name)
        for path in _sources(root):
            st = path.stat()
            parts.append((name, str(path.relative_to(root)), st.st_size, st.st_mtime_ns))
    return cache.digest(*parts)


def ensure_overlay(runtime: Runtime) -> Path:
    overlays = cache.cache_dir("guest")
    final = overlays / fingerprint(runtime)
    cache.build_once(final, lambda: (final / "sitecustomize.py").is_file(), lambda: _build(runtime, overlays, final),
                     "the guest overlay")
    return final


def _build(runtime: Runtime, overlays: Path, final: Path) -> None:
    cache.sweep_partials(overlays)
    with cache.staged(final, marker="sitecustomize.py") as staging:
        for name in GUEST_PACKAGES:
            root = _package_dir(name)
            for path in _sources(root):
                target = staging / name / path.relative_to(root)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
        shutil.copy2(staging / "wasi_lsp_guest" / "sitecustomize.py", staging / "sitecustomize.py")
        from wasi_lsp.bytecode import compile_bytecode

        compile_bytecode(runtime, staging, guest_dir=GUEST_OVERLAY)


#: Console scripts of the guest packages (their dist-info lives on the host only).
GUEST_CONSOLE_SCRIPTS = {name: server.console_script for name, server in SHIPPED_SERVERS.items()}

#: What a snapshot of each guest package's server pre-imports: its entry point imports the server lazily.
GUEST_PRELOAD = {name: list(server.preload) for name, server in SHIPPED_SERVERS.items()}

#: What each guest package needs in the environment when it is served.
GUEST_REQUIREMENTS = {name: list(server.requirements) for name, server in SHIPPED_SERVERS.items()}


def guest_requirements(server: str) -> list[str]:
    package = server.split(":", 1)[0].split(".", 1)[0]
    return list(GUEST_REQUIREMENTS.get(package, []))
