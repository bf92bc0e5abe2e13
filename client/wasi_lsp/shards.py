"""``wasi-lsp pytest -n N``: N shards of one suite, each its own WASI guest, merged into one result.

pytest-xdist's execnet workers cannot live in a WASI guest (execnet's
gateway needs threads, which WASI lacks), so the suite is cut by
pytest-split instead: shard K of N runs ``--splits N --group K`` in its own
``wasi-lsp pytest`` process, all at once. This module only starts them and
merges what they report (``--wasi-report`` from the guest plugin): one
summary line, one WASI-impossible list, one exit code and one JUnit file.
The selection and the balancing by recorded durations are pytest-split's.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

#: pytest's own order for the summary line; other categories follow in order of appearance.
KNOWN_ORDER = ("failed", "passed", "skipped", "deselected", "xfailed", "xpassed", "warnings", "error")
#: pytest exit codes worse than "some tests failed": interrupted, internal error, usage error.
SEVERE = (2, 3, 4)


def run(prefix: list[str], project: str, pytest_args: list[str], workers: int, junit: str | None,
        store_durations: str | None) -> int:
    """Run ``workers`` shards of ``wasi-lsp PREFIX PROJECT -- PYTEST_ARGS`` and merge them."""
    started = time.monotonic()
    run_dir = Path(tempfile.mkdtemp(prefix="wasi-lsp-shards-"))
    try:
        procs = []
        for k in range(1, workers + 1):
            args = [*prefix, "--shard", f"{k}/{workers}", project, "--", *pytest_args,
                    f"--wasi-report={run_dir / f'shard-{k}.json'}", f"--junitxml={run_dir / f'shard-{k}.xml'}"]
            if store_durations:
                own = run_dir / f"shard-{k}.durations"
                if Path(store_durations).is_file():
                    shutil.copy(store_durations, own)
                args.append(f"--durations-path={own}")  # the last one wins; merged below
            # Open while the shard runs; closed below once it ended.
            out = open(run_dir / f"shard-{k}.out", "w+")  # noqa: SIM115
            err = open(run_dir / f"shard-{k}.err", "w+")  # noqa: SIM115
            proc = subprocess.Popen([sys.executable, "-m", "wasi_lsp", *args], stdout=out, stderr=err)
            procs.append((k, proc, out, err))
        codes = []
        for k, proc, out, err in procs:
            codes.append(proc.wait())
            out.seek(0)
            err.seek(0)
            _echo(k, workers, out.read(), err.read())
            out.close()
            err.close()
        reports = [_read_report(run_dir / f"shard-{k}.json") for k in range(1, workers + 1)]
        merged = merge(reports)
        _print_summary(merged, time.monotonic() - started)
        if junit:
            merge_junit([run_dir / f"shard-{k}.xml" for k in range(1, workers + 1)], Path(junit))
        if store_durations:
            merge_durations(store_durations, [run_dir / f"shard-{k}.durations" for k in range(1, workers + 1)])
        return exit_code(codes, merged)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def _echo(k: int, n: int, out: str, err: str) -> None:
    """A shard's own output, its summary line relabelled so the merged one is the only summary line."""
    lines = out.rstrip("\n").splitlines()
    if lines and lines[-1].startswith("=") and lines[-1].endswith("="):
        lines[-1] = f"shard {k}/{n}: {lines[-1].strip('= ')}"
    print(f"{'-' * 30} shard {k}/{n} {'-' * 30}")
    print("\n".join(lines), flush=True)
    for line in err.splitlines():
        if not line.startswith("wasi-lsp: "):  # the plan lines repeat the parent's
            print(line, file=sys.stderr)


def _read_report(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # the shard died before pytest finished: its exit code says so


def merge(reports: list[dict | None]) -> dict:
    """One result from the shards' reports: tests counted where they ran, collection once."""
    counts: Counter = Counter()
    order: list[str] = []
    once: dict[str, set] = {}
    deselected: list[set] = []
    impossible: dict[str, str] = {}
    for report in filter(None, reports):
        deselected.append({nodeid for nodeid, _ in report["outcomes"].get("deselected", [])})
        for key, entries in report["outcomes"].items():
            if key == "deselected":
                continue
            if key not in order:
                order.append(key)
            for nodeid, phase in entries:
                if phase == "collect" or phase.startswith("warning:"):
                    once.setdefault(key, set()).add((nodeid, phase))  # every shard collects every module
                else:
                    counts[key] += 1
        for nodeid, reason in report["impossible"]:
            impossible.setdefault(nodeid, reason)
    for key, seen in once.items():
        counts[key] += len(seen)
    if deselected:
        # Deselected by the user's -k/-m in every shard; by pytest-split in all but one.
        counts["deselected"] = len(set.intersection(*deselected))
        if counts["deselected"]:
            order.append("deselected")
    keys = [k for k in KNOWN_ORDER if counts.get(k)] + [k for k in order if counts.get(k) and k not in KNOWN_ORDER]
    return {"counts": {k: counts[k] for k in keys}, "impossible": impossible}


def summary_line(counts: dict[str, int]) -> str:
    parts = []
    for key, n in counts.items():
        word = key
        if key == "warnings" and n == 1:
            word = "warning"
        elif key == "error" and n != 1:
            word = "errors"
        parts.append(f"{n} {word}")
    return ", ".join(parts) or "no tests ran"


def _print_summary(merged: dict, seconds: float) -> None:
    impossible = merged["impossible"]
    if impossible:
        print(f" {len(impossible)} test(s) WASI cannot run (all shards) ".center(80, "="))
        for nodeid, reason in sorted(impossible.items()):  # shards finish in any order
            print(f"WASI-IMPOSSIBLE {nodeid} - {reason}")
    print(f" {summary_line(merged['counts'])} in {seconds:.2f}s ".center(80, "="), flush=True)


def exit_code(codes: list[int], merged: dict) -> int:
    """pytest's meaning over all shards: the worst of them, and 'no tests' only if none ran any."""
    severe = [c for c in codes if c in SEVERE or c not in (0, 1, 5)]
    if severe:
        return max(severe)
    if 1 in codes:
        return 1
    if all(c == 5 for c in codes) or not merged["counts"]:
        return 5
    return 0


def merge_junit(parts: list[Path], target: Path) -> None:
    """One ``<testsuite>`` holding every shard's test cases (collection errors once), counts re-added."""
    suite = ET.Element("testsuite", name="pytest")
    seen: set[tuple] = set()
    totals: Counter[str] = Counter()
    time_total = 0.0
    for part in parts:
        try:
            root = ET.parse(part).getroot()
        except (OSError, ET.ParseError):
            continue
        for shard_suite in root.iter("testsuite"):
            time_total += float(shard_suite.get("time", 0))
            for case in shard_suite.iter("testcase"):
                key = (case.get("classname"), case.get("name"), case.get("line"))
                if key in seen:
                    continue
                seen.add(key)
                suite.append(case)
                totals["tests"] += 1
                for tag, attr in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
                    if case.find(tag) is not None:
                        totals[attr] += 1
    for attr in ("tests", "failures", "errors", "skipped"):
        suite.set(attr, str(totals[attr]))
    suite.set("time", f"{time_total:.3f}")
    target.parent.mkdir(parents=True, exist_ok=True)
    root = ET.Element("testsuites")
    root.append(suite)
    ET.ElementTree(root).write(target, encoding="utf-8", xml_declaration=True)


def merge_durations(target: str, parts: list[Path]) -> None:
    """pytest-split's durations file updated by every shard (each wrote its own copy)."""
    path = Path(target)
    base = json.loads(path.read_text()) if path.is_file() else {}
    merged = dict(base)
    for part in parts:
        if part.is_file():
            merged.update({k: v for k, v in json.loads(part.read_text()).items() if base.get(k) != v})
    path.write_text(json.dumps(merged, sort_keys=True, indent=4))
