"""Which runtime runs when nothing names one, why, and what a user is told.

The default (``auto``) is ``built:3.11`` when scripts/setup.sh (wasi-lsp
runtime build) made it, else the pinned runtime, announced once per cache.
"""

from __future__ import annotations

import json

import pytest

from cache_fixtures import compiled_aot, fresh_cache  # noqa: F401 (fixtures)
from conftest import wasi_lsp
from wasi_lsp.runtime import PINNED_SHA256


def info(*args: str, env: dict | None = None) -> tuple[dict, str]:
    proc = wasi_lsp("runtime", "info", "--no-project", *args, env=env, check=True)
    return dict(line.strip().split(": ", 1) for line in proc.stdout.splitlines()), proc.stderr


@pytest.fixture
def no_session_runtime(monkeypatch):
    """As a user's shell: no $WASI_LSP_RUNTIME (the test session sets one)."""
    monkeypatch.delenv("WASI_LSP_RUNTIME", raising=False)


def test_without_a_built_runtime_the_default_falls_back_to_pinned_and_says_so_once(fresh_cache, no_session_runtime):
    fields, stderr = info()
    assert fields["sha256"] == PINNED_SHA256
    assert fields["why"].startswith("the default, falling back: the runtime built:3.11 has not been built yet")
    notes = [line for line in stderr.splitlines() if "note:" in line]
    assert len(notes) == 1 and "pinned runtime" in notes[0] and "Fix: run scripts/setup.sh" in notes[0], stderr
    again = wasi_lsp("run", "--no-project", "--", "-c", "print('ok')", check=True)
    assert again.stdout == "ok\n" and "note:" not in again.stderr  # once per cache, not on every call


@pytest.mark.parametrize("name", ["pinned", "built:3.11", "auto", "default"])
def test_runtime_names_and_why(name, fresh_cache, no_session_runtime):
    proc = wasi_lsp("runtime", "info", "--no-project", "--runtime", name)
    if name == "built:3.11":  # the fresh cache holds no built runtime: one error with the fix
        assert proc.returncode == 2 and "built:3.11 has not been built yet" in proc.stderr
        assert "scripts/setup.sh" in proc.stderr
        return
    fields = dict(line.strip().split(": ", 1) for line in proc.stdout.splitlines())
    assert fields["sha256"] == PINNED_SHA256
    if name == "pinned":
        assert fields["why"] == "--runtime pinned" and "note:" not in proc.stderr
    else:  # auto, and default (its old name), are the default resolution
        assert fields["why"].startswith("the default, falling back")


def test_the_environment_variable_names_the_runtime(fresh_cache, monkeypatch):
    monkeypatch.setenv("WASI_LSP_RUNTIME", "pinned")
    fields, stderr = info()
    assert fields["why"] == "$WASI_LSP_RUNTIME pinned" and "note:" not in stderr


def test_the_built_runtime_is_the_default_once_built(no_session_runtime):
    """In the user's cache, after scripts/setup.sh: no flag needed."""
    from wasi_lsp.runtime import built

    try:
        built("3.11")
    except Exception as error:  # set-up builds it on Debian as root, as CI is
        pytest.fail(f"scripts/setup.sh did not build the runtime: {error}")
    fields, stderr = info()
    assert fields["python"] == "3.11" and "(built:3.11)" in fields["name"]
    assert fields["why"] == "the default: built:3.11, made by wasi-lsp runtime build"
    assert "note:" not in stderr
    run = wasi_lsp("run", "--no-project", "--", "-c", "import sys; print(sys.version_info[:2])", check=True)
    assert run.stdout == "(3, 11)\n"


def test_epoch_checks_are_compiled_only_for_runs_with_a_timeout(fresh_cache):
    """Two artifacts per runtime: the lean one for plain runs, one with epoch checks for --timeout."""
    def records():
        return {json.loads(p.read_text())["settings"]["epoch_interruption"]
                for p in (fresh_cache / "aot").glob("*.json")}

    for path in (fresh_cache / "aot").iterdir():
        path.unlink()
    wasi_lsp("run", "--no-project", "--", "-c", "pass", check=True)
    assert records() == {False}
    timed = wasi_lsp("run", "--no-project", "--timeout", "1", "--", "-c", "while True: pass")
    assert timed.returncode == 124 and "wall-clock limit" in timed.stderr, timed.stderr
    assert records() == {False, True}
