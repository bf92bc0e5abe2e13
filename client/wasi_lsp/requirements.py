"""What pip says about requirements: canonical names, what has no pure wheel, dependency chains.

Shared by the environment builder (:mod:`wasi_lsp.env`), the purity split
(:mod:`wasi_lsp.purity`), the downgrade report (:mod:`wasi_lsp.downgrades`) and
``wasi-lsp check``; a module of its own so none of them reaches into another's
private helpers.
"""

from __future__ import annotations

import json
import re
import sys


def canonical(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(text: str) -> str:
    """The distribution a requirement line names (its text up to the first non-name character)."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", text)
    return match.group(1) if match else text.strip()


_NO_DIST = [
    re.compile(r"No matching distribution found for ([A-Za-z0-9._-]+)"),
    # pip prints this list on stdout, one indented name a line, then a blank line.
    re.compile(r"no matching distributions available for your environment:[ \t]*\n((?:[ \t]+\S+[ \t]*\n?)+)"),
]


def missing_pure(stderr: str) -> list[str]:
    """The distributions pip says have no wheel it may install (here: no pure wheel), canonical names."""
    names: list[str] = []
    for pattern in _NO_DIST:
        for match in pattern.finditer(stderr):
            names.extend(match.group(1).split())
    return sorted({n.strip().lower() for n in names if n.strip()})


def native_resolution(requirements: list[str]) -> tuple[dict | None, str]:
    """pip's metadata-only resolution for this machine: versions and the dependency graph.

    ``(None, stderr)`` when even that fails, i.e. the requirements cannot be met at all.
    """
    import subprocess

    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
         "--disable-pip-version-check", "--report", "-", *requirements],
        capture_output=True, text=True,
    )
    try:
        report = json.loads(proc.stdout) if proc.returncode == 0 else None
    except ValueError:
        report = None
    if report is None:
        return None, proc.stderr
    Requirement = requirement_class()

    graph: dict[str, list[str]] = {}
    versions: dict[str, str] = {}
    for item in report.get("install", []):
        meta = item["metadata"]
        deps = []
        for spec in meta.get("requires_dist", []) or []:
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                deps.append(canonical(req.name))
        graph[canonical(meta["name"])] = deps
        versions[canonical(meta["name"])] = meta["version"]
    return {"graph": graph, "versions": versions}, proc.stderr


def requirement_chain(target: str, requirements: list[str]) -> list[str]:
    """The path of requirements from a top-level one down to ``target``.

    pip names only the direct parent of a missing distribution, so resolve the
    graph natively (metadata only, nothing is built or installed) and search it.
    """
    report, _ = native_resolution(requirements)
    return dependency_chain(report["graph"], target, requirements) if report else []


def dependency_chain(graph: dict[str, list[str]], target: str, requirements: list[str]) -> list[str]:
    from collections import deque

    Requirement = requirement_class()

    goal = canonical(target)
    roots = []
    for text in requirements:
        try:
            roots.append(canonical(Requirement(text).name))
        except ValueError:  # a path or URL: pip names it only after building it
            continue
    queue = deque([[r] for r in roots])
    seen = set(roots)
    while queue:
        path = queue.popleft()
        if path[-1] == goal:
            return path
        for dep in graph.get(path[-1], []):
            if dep not in seen:
                seen.add(dep)
                queue.append(path + [dep])
    return []


def requirement_class():
    """``packaging``'s Requirement; pip's vendored copy when ``packaging`` is not installed."""
    try:
        from packaging.requirements import Requirement
    except ImportError:
        from pip._vendor.packaging.requirements import Requirement  # type: ignore[assignment]
    return Requirement
