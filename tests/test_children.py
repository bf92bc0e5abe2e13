"""In-guest child processes: the same scenarios natively (real processes) and inside WASI.

``tests/children/scenarios.py`` runs once per side (one guest start for all
scenarios, to keep CI cheap) and prints what the parent observed; every
scenario must give native's answer inside WASI. What WASI decides
differently (shared modules, a non-Python program, a synchronous dialogue on
one stack) is checked on its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ALL_HOSTS, wasi_lsp

SCENARIOS = Path(__file__).resolve().parent / "children" / "scenarios.py"
NAMES = [
    "argv_stdout_and_exit_code", "communicate_text", "env_and_cwd", "uncaught_exception",
    "sys_exit_with_message_and_os_exit", "module_with_pythonpath", "stdlib_module_json_tool",
    "script_file_and_isolated_flags", "check_output_and_called_process_error", "nested_children",
    "child_never_reads_stdin", "kill_and_terminate", "interleaved_with_communicate_per_child",
    "stderr_to_stdout_and_devnull", "child_state_is_isolated", "asyncio_echo", "asyncio_reader_thread",
    "asyncio_communicate_and_kill", "asyncio_kill_blocked_reader", "thread_reads_stdin",
]


@pytest.fixture(scope="module")
def native() -> dict:
    proc = subprocess.run([sys.executable, str(SCENARIOS)], capture_output=True, text=True, timeout=120, check=True)
    return json.loads(proc.stdout)


@pytest.fixture(scope="module", params=ALL_HOSTS)
def wasi(request) -> dict:
    proc = wasi_lsp("run", "--host", request.param, "--dir", str(SCENARIOS.parent), "--", str(SCENARIOS),
                    timeout=300, check=True)
    return json.loads(proc.stdout)


@pytest.mark.parametrize("name", NAMES)
def test_scenario_matches_native(name: str, native: dict, wasi: dict):
    assert not str(native[name]).startswith("raised"), native[name]
    assert wasi[name] == native[name]


def test_non_python_child_names_the_limit(wasi: dict):
    errno, message = wasi["wasi_only"]["not_python"]
    assert errno == 58
    assert "cannot run 'git'" in message and "wasi does not support processes" in message


def test_modules_are_shared_with_the_child(wasi: dict):
    # One interpreter: a module the parent imported is already in the child's sys.modules.
    assert wasi["wasi_only"]["modules_shared"] == "True\n"


def test_synchronous_dialogue_fails_clearly(wasi: dict):
    # The child's second read can only be satisfied by the parent, which waits further down the one
    # stack: the child gets a clear error (exit 1), the parent a BrokenPipeError, nothing hangs.
    seen, returncode, last_stderr = wasi["wasi_only"]["synchronous_dialogue"]
    assert seen[0] == "echo one\n"
    assert seen[-1].startswith("BrokenPipeError")
    assert returncode == 1
    assert "nothing can ever write" in last_stderr[0]
