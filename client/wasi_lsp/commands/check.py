"""``wasi-lsp check [PROJECT_DIR] [--json]``: is this project WASI-compatible, and if not, which dependency is why?

Three questions per dependency, each answered by doing it for real: does it
resolve to pure wheels (pip, restricted to ``py3-none-any``), do its
top-level modules import in the guest (a failure that names a module the
runtime lacks is told apart from other errors), and does the project's suite
pass under ``wasi-lsp pytest``. Only when all three hold is the trove
classifier ``Environment :: WebAssembly :: WASI`` suggested.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from wasi_lsp.commands.options import sandbox_options
from wasi_lsp.requirements import canonical, requirement_name

CLASSIFIER = "Environment :: WebAssembly :: WASI"
NOT_MODULES = {"tests", "test", "testing", "docs", "doc", "setup", "conftest", "noxfile", "build", "dist", "bench"}


def add_parser(sub) -> None:
    p = sub.add_parser("check", help="report per dependency whether the project can run in WASI")
    sandbox_options(p)
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("project", nargs="?", default=".", help="the project directory (default: .)")


@dataclass
class Row:
    name: str
    kind: str  # "project", "runtime" or "test"
    pure_wheel: bool
    pure_note: str = ""
    modules: list[str] = field(default_factory=list)
    imports_ok: bool | None = None
    import_note: str = ""


@dataclass
class Report:
    project: str
    rows: list[Row]
    suite: dict
    compatible: bool
    suggestion: str = ""
    #: One line per distribution the guest gets in an older version than pip would pick unconstrained.
    downgrades: list[str] = field(default_factory=list)


def top_level_modules(site: Path, name: str) -> list[str]:
    """The importable top-level names a distribution installs, from its dist-info."""
    for info in site.glob("*.dist-info"):
        if canonical(info.name.removesuffix(".dist-info").rsplit("-", 1)[0]) != canonical(name):
            continue
        top = info / "top_level.txt"
        if top.is_file():
            return sorted({line.strip() for line in top.read_text().splitlines()
                           if line.strip() and not line.startswith("_")})
        names = set()
        for line in (info / "RECORD").read_text().splitlines():
            first = line.split(",", 1)[0].split("/", 1)
            if first[0].endswith(".py") and len(first) == 1:
                names.add(first[0][:-3])
            elif len(first) == 2 and first[1] == "__init__.py":
                names.add(first[0])
        return sorted(n for n in names if not n.startswith("_") and n.isidentifier())
    return []


def source_modules(roots: list[str]) -> list[str]:
    names = set()
    for root in map(Path, roots):
        for path in root.iterdir():
            stem = path.name[:-3] if path.suffix == ".py" else path.name
            if stem in NOT_MODULES or stem.startswith(("_", ".")) or not stem.isidentifier():
                continue
            if (path.is_file() and path.suffix == ".py") or (path / "__init__.py").is_file():
                names.add(stem)
    return sorted(names)


def _probe(grants, modules: list[str]) -> dict:
    from wasi_lsp import sandbox
    from wasi_lsp.hosts import embedded

    if not modules:
        return {}
    spec = sandbox.build(grants, ["-m", "wasi_lsp_guest.lacks", *modules], quiet=True)
    code, out, err = embedded.run_captured(spec)
    try:
        return json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        from wasi_lsp.errors import WasiLspError

        raise WasiLspError(f"the import probe failed in the guest (exit {code}): {(out + err)[-1500:]}") from None


def _suite(plan) -> dict:
    from wasi_lsp import sandbox
    from wasi_lsp.hosts import embedded

    spec = sandbox.build(plan.grants, plan.args, quiet=True)
    code, out, err = embedded.run_captured(spec)
    junit = Path(next(a for a in plan.args if a.startswith("--junitxml=")).partition("=")[2])
    counts: dict[str, Any] = {"exit_code": code, "passed": 0, "failed": 0, "errors": 0, "skipped": 0,
                              "wasi_impossible": 0}
    if junit.is_file():
        for case in ET.parse(junit).getroot().iter("testcase"):
            kinds = {child.tag: child for child in case}
            if "failure" in kinds:
                counts["failed"] += 1
            elif "error" in kinds:
                counts["errors"] += 1
            elif "skipped" in kinds:
                # a test's skip carries the reason as its message; a module's skip ("collection skipped") in its text
                skip = kinds["skipped"]
                lacks = skip.get("message", "").startswith("WASI lacks") or "WASI lacks" in (skip.text or "")
                counts["wasi_impossible" if lacks else "skipped"] += 1
            else:
                counts["passed"] += 1
    counts["summary"] = (out.strip().splitlines() or [""])[-1]
    return counts


def build_report(options) -> Report:
    from wasi_lsp.commands.pytest import plan as make_plan

    from wasi_lsp.sandbox import scratch_dir

    scratch = scratch_dir("check")
    plan = make_plan(options, options.project, ["-q", f"--junitxml={scratch / 'junit.xml'}"],
                     strict=False)
    dropped = {canonical(requirement_name(d.requirement)): d for d in plan.dropped}
    from wasi_lsp import downgrades
    from wasi_lsp.env import ensure_env

    env = ensure_env(plan.grants.requirements, plan.grants.runtime)
    site = env.site
    older = {d.name: d for d in downgrades.of_env(env, plan.grants.runtime)}
    project_modules = source_modules(plan.grants.prepend)
    rows = [Row(plan.deps.name or plan.project.name, "project", True, "imported from source", project_modules)]
    seen = set()
    for kind, reqs in (("runtime", plan.deps.runtime), ("test", plan.deps.all[len(plan.deps.runtime):])):
        for req in reqs:
            name = canonical(requirement_name(req))
            if name in seen:
                continue
            seen.add(name)
            gone = dropped.get(name)
            row = Row(req, kind, gone is None or gone.replacement is not None, gone.line() if gone else "")
            if name in older:
                row.pure_note = "; ".join(n for n in (row.pure_note, older[name].line()) if n)
            if gone is None or gone.replacement:
                row.modules = top_level_modules(site, requirement_name(req))
            rows.append(row)
    results = _probe(plan.grants, sorted({m for row in rows for m in row.modules}))
    for row in rows:
        failures = [(m, results[m]) for m in row.modules if m in results and not results[m]["ok"]]
        if row.modules:
            row.imports_ok = not failures
            row.import_note = "; ".join(
                f"{m}: WASI lacks {r['lacks']}" if r["lacks"] else f"{m}: {r['error']}" for m, r in failures
            )
    suite = _suite(plan)
    compatible = (all(r.pure_wheel and r.imports_ok is not False for r in rows) and suite["exit_code"] == 0
                  and suite["wasi_impossible"] == 0)
    suggestion = f'add the trove classifier "{CLASSIFIER}" to [project] classifiers' if compatible else ""
    return Report(str(plan.project), rows, suite, compatible, suggestion, [d.line() for d in older.values()])


def render(report: Report) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    def mark(value: bool | None) -> str:
        return "-" if value is None else ("[green]yes[/]" if value else "[red]no[/]")

    table = Table(title=f"WASI compatibility of {report.project}")
    for column in ("dependency", "kind", "pure wheel", "imports in WASI", "notes"):
        table.add_column(column)
    for row in report.rows:
        notes = "; ".join(n for n in (row.pure_note if not row.pure_wheel or row.kind != "project" else "",
                                      row.import_note) if n)
        table.add_row(escape(row.name), row.kind, mark(row.pure_wheel), mark(row.imports_ok), escape(notes))
    console = Console()
    console.print(table)
    for line in report.downgrades:
        console.print(f"[yellow]older than the newest[/]: {escape(line)}")
    s = report.suite
    console.print(
        f"test suite: {'[green]passed[/]' if s['exit_code'] == 0 else '[red]did not pass[/]'} "
        f"(exit {s['exit_code']}): {s['passed']} passed, {s['failed']} failed, {s['errors']} errors, "
        f"{s['skipped']} skipped, {s['wasi_impossible']} WASI-impossible"
    )
    if report.compatible:
        console.print(f"[green]compatible[/]: {escape(report.suggestion)}")
    else:
        console.print("[yellow]not WASI-compatible yet[/]: see the rows marked no, and `wasi-lsp pytest` for the suite")


def run(options) -> int:
    report = build_report(options)
    if options.json:
        json.dump(asdict(report), sys.stdout, indent=2)
        print()
    else:
        render(report)
    return 0 if report.compatible else 1
