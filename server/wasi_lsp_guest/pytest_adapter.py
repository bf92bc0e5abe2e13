"""pytest plugin loaded inside the guest by ``wasi-lsp pytest`` (``-p wasi_lsp_guest.pytest_adapter``).

Some tests cannot pass on WASI whatever the code under test does: they start
a thread, a subprocess or a socket, or import ctypes. Reporting them as plain
failures buries the real failures; passing them silently would claim support
that is not there. So a test whose failure is *caused by* a feature WASI
lacks (recognised by the exception, never by the test's name) is reported
in its own category, ``wasi-impossible``: counted apart on the summary line,
listed with its reason in a section of its own, written to JUnit as a skip
whose message starts with ``WASI lacks``, and not counted as a failure for
the exit code. ``--wasi-strict`` keeps them failures (still listed apart).

Only the exception that ended the test is judged, with its cause chain: an
assertion that fails after a thread was refused is still a failure. The one
other evidence is the cooperative scheduler's own record that a waiting
thread could have resumed (its condition held or its timeout passed) but was
buried under another thread running on WASI's one stack: a failed test during
which that happened needed threads that run side by side, which WASI lacks.
"""

from __future__ import annotations

import sys

import pytest

from wasi_lsp_guest.lacks import MISSING_MODULES, lacked_feature

CATEGORY = "wasi-impossible"

def pytest_addoption(parser):
    group = parser.getgroup("wasi-lsp")
    group.addoption(
        "--wasi-strict", action="store_true", default=False,
        help="report tests that fail because WASI lacks a feature as failures",
    )
    group.addoption(
        "--wasi-report", default=None, metavar="PATH",
        help="write every outcome as JSON to PATH, for wasi-lsp pytest -n to merge shards (it then prints the list)",
    )


def pytest_configure(config):
    config.stash[_impossible_key] = []


_impossible_key = pytest.StashKey[list]()


def _reason(feature: str, exc: BaseException) -> str:
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"WASI lacks {feature}: {type(exc).__name__}: {first}".rstrip(": ")


def _scheduler():
    module = sys.modules.get("wasi_lsp_guest.cooperative.scheduler")
    return module.SCHEDULER if module is not None else None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    scheduler = _scheduler()
    if scheduler is not None:
        scheduler.buried_ready = None


def _buried_wait() -> str | None:
    scheduler = _scheduler()
    return scheduler.buried_ready if scheduler is not None else None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not report.failed or call.excinfo is None or hasattr(report, "wasxfail"):
        return
    feature = lacked_feature(call.excinfo.value)
    buried = None if feature else _buried_wait()
    if not feature and not buried:
        return
    if buried:
        feature = f"threads that run side by side (one stack: {buried})"
    reason = _reason(feature, call.excinfo.value)  # type: ignore[arg-type]
    report.wasi_lacks = reason
    item.config.stash[_impossible_key].append((report.nodeid, reason))
    if not item.config.getoption("wasi_strict"):
        path, line, _ = item.location
        report.outcome = "skipped"
        report.longrepr = (str(item.path), (line or 0) + 1, reason)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """A test module that imports e.g. ctypes at the top cannot even be collected."""
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    text = str(report.longrepr)
    feature = next((f for m, f in MISSING_MODULES.items() if f"No module named '{m}'" in text), None)
    if feature is None and "can't start new thread" in text:
        feature = "threads"
    if feature is None:
        return
    reason = f"WASI lacks {feature}: the module cannot be imported"
    collector.config.stash[_impossible_key].append((report.nodeid, reason))
    if not collector.config.getoption("wasi_strict"):
        report.outcome = "skipped"
        report.longrepr = (str(getattr(collector, "path", report.nodeid)), 0, reason)


def pytest_report_teststatus(report, config):
    if getattr(report, "wasi_lacks", None) and report.skipped:
        return CATEGORY, "w", ("WASI-IMPOSSIBLE", {"yellow": True})
    return None


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    impossible = config.stash.get(_impossible_key, [])
    if config.getoption("wasi_report"):
        _write_report(config.getoption("wasi_report"), terminalreporter, impossible, exitstatus)
        return  # the host prints the merged list once, not once per shard
    if not impossible:
        return
    verdict = ("counted as failures (--wasi-strict)" if config.getoption("wasi_strict")
               else "not run to completion, not passed")
    terminalreporter.write_sep("=", f"{len(impossible)} test(s) WASI cannot run: {verdict}", yellow=True)
    for nodeid, reason in impossible:
        terminalreporter.write_line(f"WASI-IMPOSSIBLE {nodeid} - {reason}")


def _write_report(path, terminalreporter, impossible, exitstatus):
    """Each outcome category as ``[nodeid, phase]`` pairs: enough to merge shards into one summary.

    The phase tells a collection report (every shard collects everything, so
    the host counts it once) from a test's own (it runs in one shard only).
    """
    import json

    outcomes = {}
    for key, reports in terminalreporter.stats.items():
        if not key:
            continue
        outcomes[key] = [
            [getattr(r, "nodeid", None) or "", getattr(r, "when", None) or "collect"
             if key != "warnings" else f"warning:{getattr(r, 'message', '')}"]
            for r in reports
        ]
    with open(path, "w") as f:
        json.dump({"outcomes": outcomes, "impossible": [list(i) for i in impossible], "exitstatus": int(exitstatus)}, f)
