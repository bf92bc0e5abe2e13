"""Blocking waits inside WASI behave as on a threaded POSIX Python: the idiom corpus, native vs guest.

tests/concurrency/idioms.py runs every idiom and prints one JSON object. It runs
once natively and once per host inside WASI (one guest process per host, so the
corpus costs a few seconds); the answers must be identical and each idiom must
finish within its native time times an interpreter factor, plus start-up slack.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import REPO, wasi_lsp

IDIOMS = REPO / "tests" / "concurrency" / "idioms.py"
#: Guest CPython is a few times slower than native; sleeps and timeouts cost the same on both.
INTERPRETER_FACTOR = 10
SLACK_SECONDS = 2.0


def native(*args: str) -> dict:
    proc = subprocess.run([sys.executable, str(IDIOMS), *args], capture_output=True, text=True, timeout=120,
                          check=True)
    return json.loads(proc.stdout)


def in_guest(*args: str, host: str = "wasmtime", runtime: str | None = None) -> dict:
    choice = ["--runtime", runtime] if runtime else []
    proc = wasi_lsp("run", "--host", host, *choice, "--", "-c", IDIOMS.read_text(), *args, timeout=300)
    if "cannot run here" in proc.stderr:
        pytest.skip(proc.stderr.strip())
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def native_answers() -> dict:
    return native()


def assert_native_answers(answers: dict, native_answers: dict) -> None:
    assert answers.keys() == native_answers.keys()
    differ = {name: (native_answers[name]["result"], got["result"]) for name, got in answers.items()
              if got["result"] != native_answers[name]["result"]}
    assert not differ, json.dumps(differ, indent=1)
    slow = {name: (native_answers[name]["seconds"], got["seconds"]) for name, got in answers.items()
            if got["seconds"] > native_answers[name]["seconds"] * INTERPRETER_FACTOR + SLACK_SECONDS}
    assert not slow, f"(native s, wasi s): {slow}"


def test_every_idiom_gives_the_native_answer_in_bounded_time(host, native_answers):
    assert_native_answers(in_guest(host=host), native_answers)


def test_held_out_idioms_give_the_native_answers(host):
    """Written before the fiber scheduler ran them: threads taking turns many times, batches, pipelines."""
    assert_native_answers(in_guest("--held-out", host=host), native("--held-out"))


#: Threads that take turns more than once: on the built runtime each is a fiber that leaves the
#: C stack while it waits. The pinned runtime has no fibers: there they run on top of the wait.
TURN_TAKING = ("bounded_queue_filled_faster_than_drained", "ping_pong_between_two_threads",
               "barrier_reused_for_two_rounds")


def test_without_fibers_turn_taking_ends_in_a_clear_error_not_a_hang():
    answers = in_guest(*TURN_TAKING, "join_with_a_timeout_of_a_sleeping_thread", runtime="pinned")
    for name in TURN_TAKING:
        error = answers[name]["result"]["error"]
        assert error.startswith("WaitDeadlock: wasi-lsp: "), error
        assert "a real thread would resume, but WASI has one stack" in error, error
        assert answers[name]["seconds"] < 1.0
    assert "'Thread-1 (<lambda>)' blocked in queue.Queue.put at <string>:" in \
        answers["bounded_queue_filled_faster_than_drained"]["result"]["error"]
    # A timed join returns when the sleeping thread it started returns: late, never early.
    assert answers["join_with_a_timeout_of_a_sleeping_thread"] == {"result": False, "seconds": pytest.approx(0.3, abs=0.25)}


def test_a_wait_nothing_can_satisfy_names_itself_instead_of_hanging():
    proc = wasi_lsp("run", "--", "-c", "import queue\nq = queue.Queue()\nq.get()\n", timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        "wasi_lsp_guest.cooperative.scheduler.WaitDeadlock: wasi-lsp: queue.Queue.get at <string>:3 in the main "
        "thread waits forever: no thread can run, no timer is pending and no input can come (a real thread "
        "would hang here)")


CHAIN_OF_100_THREADS = """if 1:
    import threading
    events = [threading.Event() for _ in range(101)]
    def link(i):
        events[i + 1].wait()
        events[i].set()
    threads = [threading.Thread(target=link, args=(i,), daemon=True) for i in range(100)]
    for t in threads:
        t.start()
    threading.Thread(target=events[100].set).start()
    try:
        print(events[0].wait())
    except RuntimeError as error:
        print(type(error).__name__, str(error).split('. ')[-1])
"""


def test_a_chain_of_100_waiting_threads_finishes_as_natively():
    # Each thread waits for the next one. As fibers, none waits on top of another.
    proc = wasi_lsp("run", "--", "-c", CHAIN_OF_100_THREADS, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "True\n"


def test_without_fibers_threads_nested_deeper_than_the_stack_allows_raise_instead_of_trapping():
    # On one C stack, 100 nested waits would overflow it (a wasm trap ends the process).
    proc = wasi_lsp("run", "--runtime", "pinned", "--", "-c", CHAIN_OF_100_THREADS, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "trap" not in proc.stderr
    assert "as deep as WASI's one stack allows" in proc.stderr + proc.stdout
