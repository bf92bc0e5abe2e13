"""Which requirements can be installed as pure-Python wheels, decided before building an environment.

A test suite should still run when one of its helpers (a C-accelerated
plugin, say) cannot exist in WASI: that requirement is left out and said so
in one line, instead of the whole environment failing. pip is asked to
resolve metadata only (``--dry-run``), restricted to pure wheels, and each
distribution it cannot find is traced back to the top-level requirement that
pulls it in. A requirement reaching it only through an extra keeps its base
and loses the extra.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from wasi_lsp.env import pip_target_args
from wasi_lsp.requirements import canonical, missing_pure, requirement_chain, requirement_name
from wasi_lsp.runtime import Runtime


@dataclass(frozen=True)
class Dropped:
    requirement: str
    missing: str
    chain: tuple[str, ...]
    replacement: str | None = None

    def line(self) -> str:
        via = f" (required by {' -> '.join(self.chain[:-1])})" if len(self.chain) > 1 else ""
        what = f"installing {self.replacement} without the extra" if self.replacement else "skipped"
        return f"{self.requirement}: {self.missing} has no pure-Python wheel{via}; {what}"


def resolve_pure(requirements: list[str], runtime: Runtime) -> tuple[subprocess.CompletedProcess, dict]:
    """pip's dry-run resolution of ``requirements`` as pure wheels for the guest's Python.

    ``--target`` stays although nothing is installed: pip before 23.3 refuses
    the platform options (``--platform``, ``--abi``...) without it, even with
    ``--dry-run``. The target directory is never created.
    """
    with tempfile.TemporaryDirectory(prefix="wasi-lsp-dry-run-") as scratch:
        args = pip_target_args(runtime, Path(scratch) / "never-written")
        args += ["--dry-run", "--ignore-installed", "--quiet", "--report", "-", *requirements]
        proc = subprocess.run(args, capture_output=True, text=True)
    try:
        report = json.loads(proc.stdout) if proc.returncode == 0 else {}
    except ValueError:
        report = {}
    return proc, report


def split_pure(requirements: list[str], runtime: Runtime) -> tuple[list[str], list[Dropped]]:
    """``(installable, dropped)``: what resolves to pure wheels, and what had to go and why.

    Cached like the environments it feeds (same key parts), so a warm run costs no pip resolution.
    """
    from wasi_lsp import cache

    key = cache.digest(sorted(set(requirements)), runtime.sha256(), runtime.tag)
    record = cache.cache_dir("purity") / f"{key}.json"
    if record.is_file():
        data = json.loads(record.read_text())
        return data["kept"], [Dropped(d[0], d[1], tuple(d[2]), d[3]) for d in data["dropped"]]
    kept, dropped = _split(requirements, runtime)
    cache.atomic_write_json(record, {"kept": kept, "dropped": [[d.requirement, d.missing, list(d.chain), d.replacement]
                                                                for d in dropped]})
    return kept, dropped


def _split(requirements: list[str], runtime: Runtime) -> tuple[list[str], list[Dropped]]:
    kept = list(dict.fromkeys(requirements))
    dropped: list[Dropped] = []
    for _ in range(len(kept) + 1):
        if not kept:
            break
        proc, _report = resolve_pure(kept, runtime)
        if proc.returncode == 0:
            return kept, dropped
        missing = missing_pure(proc.stderr)
        if not missing:
            errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR")]
            detail = "\n".join(errors) or proc.stderr[-1500:]
            from wasi_lsp.errors import WasiLspError

            raise WasiLspError(f"pip could not resolve the test requirements:\n{detail}",
                               fix="check the requirement names and versions (see the lines above)")
        for name in missing:
            kept = _drop(name, kept, dropped)
    return kept, dropped


def _drop(missing: str, kept: list[str], dropped: list[Dropped]) -> list[str]:
    for req in kept:
        if canonical(requirement_name(req)) == missing:
            dropped.append(Dropped(req, missing, (missing,)))
            return [r for r in kept if r != req]
    chain = requirement_chain(missing, kept)
    root = next((r for r in kept if chain and canonical(requirement_name(r)) == chain[0]), None)
    if root is None:
        # Native resolution ignores extras, so an extra is what pulls it in: drop the extras.
        with_extras = [r for r in kept if "[" in r]
        if not with_extras:
            raise _unexplained(missing, kept)
        for req in with_extras:
            base = re.sub(r"\[[^\]]*\]", "", req, count=1)
            dropped.append(Dropped(req, missing, (requirement_name(req), missing), replacement=base))
            kept = [base if r == req else r for r in kept]
        return kept
    if "[" in root:
        base = re.sub(r"\[[^\]]*\]", "", root, count=1)
        dropped.append(Dropped(root, missing, tuple(chain), replacement=base))
        return [base if r == root else r for r in kept]
    dropped.append(Dropped(root, missing, tuple(chain)))
    return [r for r in kept if r != root]


def _unexplained(missing: str, kept: list[str]):
    from wasi_lsp.errors import WasiLspError

    return WasiLspError(
        f"{missing} has no pure-Python wheel and none of {', '.join(kept)} could be traced as requiring it",
        fix="name the requirement to leave out in [tool.wasi-lsp] test-requirements",
    )
