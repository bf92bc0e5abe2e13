"""Versions the pure-wheel constraint held back, said in one line each.

Restricted to ``py3-none-any`` wheels, pip quietly settles for an older
release when the newest one needs something that has no pure wheel
(systemd-language-server 0.3.5 needs lxml, so 0.3.2 is installed, and its
metadata does not even name lxml). That older version may not work, so the
user must hear about it. pip answers both questions: what an unconstrained
resolution on this machine would pick (``--dry-run --report`` without the
platform options), and, for each version the guest got older, why the newest
one cannot be had as pure wheels (a pure dry run of exactly that version).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from wasi_lsp.requirements import canonical, dependency_chain, missing_pure, native_resolution

if TYPE_CHECKING:
    from wasi_lsp.env import GuestEnv
    from wasi_lsp.runtime import Runtime


@dataclass(frozen=True)
class Downgrade:
    name: str
    picked: str
    newest: str
    cause: str

    def line(self) -> str:
        return f"{self.name}: installing {self.picked}, not the newest {self.newest}: {self.cause}"


def find(requirements: list[str], picked: dict[str, str], runtime: Runtime) -> list[Downgrade] | None:
    """Each distribution in ``picked`` (name -> version) older than an unconstrained resolution would pick.

    ``None`` when even the unconstrained resolution fails (a local path pip cannot
    build here, no network): there is nothing to compare with, this time.
    """
    from packaging.version import InvalidVersion, Version

    if not requirements or not picked:
        return []
    native, _stderr = native_resolution(requirements)
    if native is None:
        return None
    found = []
    for name, version in sorted(picked.items()):
        newest = native["versions"].get(canonical(name))
        try:
            older = newest is not None and Version(version) < Version(newest)
        except InvalidVersion:
            older = False
        if older:
            found.append(Downgrade(name, version, newest, _cause(name, newest, native["graph"], runtime)))
    return found


def _cause(name: str, newest: str, graph: dict[str, list[str]], runtime: Runtime) -> str:
    """Why ``name==newest`` is not installable as pure wheels, as pip says it."""
    from wasi_lsp.purity import resolve_pure  # with suite_requirements, ~100 ms that a warm serve need not import
    proc, _report = resolve_pure([f"{name}=={newest}"], runtime)
    if proc.returncode == 0:
        return f"{newest} has pure wheels, but not together with the other requirements"
    missing = [m for m in missing_pure(proc.stderr + proc.stdout) if m != canonical(name)]
    if not missing:
        return f"{newest} has no pure-Python wheel for Python {runtime.tag}"
    parts = []
    for dist in missing:
        chain = dependency_chain(graph, dist, [name])
        via = f" (through {' -> '.join(chain[1:-1])})" if len(chain) > 2 else ""
        parts.append(f"{dist}{via}")
    which = "which has" if len(parts) == 1 else "which have"
    return f"{newest} needs {', '.join(parts)}, {which} no pure-Python wheel"


def of_env(env: GuestEnv, runtime: Runtime) -> list[Downgrade]:
    """The downgrades in a built environment, found once and remembered beside the other caches."""
    from wasi_lsp import cache

    record = cache.cache_dir("downgrades") / f"{env.root.name}.json"
    if record.is_file():
        return [Downgrade(**d) for d in json.loads(record.read_text())]
    picked = dict(_name_version(d) for d in env.metadata().get("installed", []))
    found = find(list(env.requirements), picked, runtime)
    if found is None:
        return []  # not remembered: the next run asks pip again
    cache.atomic_write_json(record, [d.__dict__ for d in found])
    return found


def _name_version(dist_info: str) -> tuple[str, str]:
    """``("systemd-language-server", "0.3.2")`` from ``systemd_language_server-0.3.2``."""
    name, _, version = dist_info.rpartition("-")
    return canonical(name), version
