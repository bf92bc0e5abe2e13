"""How a matrix's native cell runs the server: a cached ``pip --target`` site, the target as in WASI.

Apart from :mod:`wasi_lsp.matrix_client` (the client every cell drives its
server with): these are about the server's side on the host.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from wasi_lsp import cache
from wasi_lsp.errors import WasiLspError


def _satisfied(requirement: str) -> bool:
    from importlib.metadata import PackageNotFoundError, version

    from packaging.requirements import Requirement

    req = Requirement(requirement)
    if req.marker is not None and not req.marker.evaluate():
        return True
    try:
        return req.specifier.contains(version(req.name), prereleases=True)
    except PackageNotFoundError:
        return False


def native_site(requirements: Sequence[str]) -> Path | None:
    """A directory to put first on a native server's PYTHONPATH so it sees ``requirements``.

    None when the running interpreter already satisfies them. Otherwise they
    are installed with ``pip --target`` into a cached directory, which is how a
    pygls 1.x server runs natively beside the pygls 2 this interpreter has.
    """
    missing = [r for r in requirements if not _satisfied(r)]
    if not missing:
        return None
    root = cache.cache_dir("native-sites")
    final = root / cache.digest(sys.version, sorted(requirements))
    cache.build_once(final, final.is_dir, lambda: _install_native(requirements, final), "a native site")
    return final


def _install_native(requirements: Sequence[str], final: Path) -> None:
    with cache.staged(final) as staging:
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--target", str(staging), "--disable-pip-version-check",
             "--no-warn-script-location", "--progress-bar", "off", "--quiet", *requirements],
            capture_output=True, text=True,
        )
        if proc.returncode != 0:
            raise WasiLspError(
                f"pip could not install {' '.join(requirements)} for the native run:\n{proc.stderr[-2000:]}",
                fix="check the requirement names and versions passed to matrix(requirements=...)",
            )


def native_target(server: str, site: Path | None) -> str:
    """The ``module[:object]`` a server target names natively; console scripts resolve as in WASI."""
    if ":" in server:
        return server
    from importlib.metadata import distributions

    path = [str(site), *sys.path] if site else sys.path
    for dist in distributions(path=path):
        for entry in dist.entry_points:
            if entry.group == "console_scripts" and entry.name == server:
                return entry.value
    return server


def python_path(*entries: object) -> str:
    """Join PYTHONPATH entries, keeping what the caller's environment already had last."""
    parts = [str(e) for e in entries if e]
    if os.environ.get("PYTHONPATH"):
        parts.append(os.environ["PYTHONPATH"])
    return os.pathsep.join(parts)
