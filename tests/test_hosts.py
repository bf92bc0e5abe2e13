"""Every host honours the same spec: argv, exit codes, streaming, env, mounts, limits.

Each test runs the real CLI with ``--host``, so the guest is a real WASI
process under embedded wasmtime, the wasmtime CLI or node.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conftest import guest_stdlib_mounts, wasi_lsp
from wasi_lsp.runtime import Runtime
from wasi_lsp.spec import Limits, Mount, RunSpec


def run(host: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return wasi_lsp("run", "--host", host, "--no-project", *args, **kwargs)


def test_platform_is_wasi(host, tmp_path):
    proc = run(host, "--", "-c", "import sys; print(sys.platform)", cwd=tmp_path)
    assert (proc.returncode, proc.stdout.strip()) == (0, "wasi"), proc.stderr


@pytest.mark.parametrize("code", [0, 3, 77])
def test_exit_code_is_the_guests(host, tmp_path, code):
    proc = run(host, "--", "-c", f"import sys; sys.exit({code})", cwd=tmp_path)
    assert proc.returncode == code, proc.stderr


def test_uncaught_exception_exits_1_with_the_traceback(host, tmp_path):
    proc = run(host, "--", "-c", "raise ValueError('boom')", cwd=tmp_path)
    assert proc.returncode == 1
    assert "ValueError: boom" in proc.stderr


def test_argv_reaches_the_guest(host, tmp_path):
    proc = run(host, "--", "-c", "import sys, json; print(json.dumps(sys.argv))", "a b", "--flag", "-x", cwd=tmp_path)
    assert proc.stdout.strip() == '["-c", "a b", "--flag", "-x"]', proc.stderr


ECHO = """
import sys
while True:
    line = sys.stdin.readline()
    if not line:
        break
    sys.stdout.write("echo:" + line)
    sys.stdout.flush()
"""


def spawn_interactive(host: str, code: str, cwd) -> tuple[subprocess.Popen, "queue.Queue[bytes]"]:
    """A guest running ``code`` with its stdin open, and a queue its stdout lines arrive on as they come."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "wasi_lsp", "run", "--host", host, "--no-project", "--", "-c", code],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
    )
    lines: queue.Queue[bytes] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    return proc, lines


def test_stdin_stdout_stream_interactively(host, tmp_path):
    """Each reply must arrive before the next line is written: nothing waits for EOF."""
    proc, lines = spawn_interactive(host, ECHO, tmp_path)
    try:
        for i in range(3):
            proc.stdin.write(f"line {i}\n".encode())
            proc.stdin.flush()
            try:
                reply = lines.get(timeout=120 if i == 0 else 30)
            except queue.Empty:
                pytest.fail(f"no reply to line {i} while stdin stayed open")
            assert reply == f"echo:line {i}\n".encode()
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0, proc.stderr.read()
    finally:
        proc.kill()
        proc.wait()


SELECT_THEN_READ = """
import os, select
print(select.select([0], [], [], 0.2)[0], flush=True)
for _ in range(3):
    print(repr(os.read(0, 100)), flush=True)
"""


def test_stdin_stays_blocking_after_select(host, tmp_path):
    """A select on stdin (a language server's idle wait) must not turn later reads into EAGAIN."""
    proc, lines = spawn_interactive(host, SELECT_THEN_READ, tmp_path)
    try:
        assert lines.get(timeout=120) == b"[]\n"  # nothing written yet: the select timed out
        for text in ("one", "two"):
            proc.stdin.write(f"{text}\n".encode())
            proc.stdin.flush()
            assert lines.get(timeout=30) == f"b'{text}\\n'\n".encode()
        proc.stdin.close()
        assert lines.get(timeout=30) == b"b''\n"
        assert proc.wait(timeout=30) == 0, proc.stderr.read()
    finally:
        proc.kill()
        proc.wait()


def test_host_environment_does_not_leak(host, tmp_path):
    code = "import os; print(os.environ.get('WASI_LSP_TEST_VAR'), os.environ.get('PATH'))"
    proc = run(host, "--", "-c", code, cwd=tmp_path, env={"WASI_LSP_TEST_VAR": "host-value"})
    assert proc.stdout.strip() == "None None", proc.stderr


def test_env_passes_only_what_is_named(host, tmp_path):
    code = "import os; print(os.environ.get('WASI_LSP_TEST_VAR'), os.environ.get('OTHER'), os.environ.get('SET'))"
    proc = run(host, "--env", "WASI_LSP_TEST_VAR", "--env", "SET=a=b", "--", "-c", code, cwd=tmp_path,
               env={"WASI_LSP_TEST_VAR": "host-value", "OTHER": "other"})
    assert proc.stdout.strip() == "host-value None a=b", proc.stderr


def test_read_write_dir_mount(host, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "in.txt").write_text("from host")
    code = (
        f"import os; d = {str(work)!r}\n"
        "data = open(d + '/in.txt').read()\n"
        "open(d + '/out.txt', 'w').write(data.upper())\n"
        "os.mkdir(d + '/made'); os.rename(d + '/in.txt', d + '/made/moved.txt')\n"
    )
    proc = run(host, "--dir", str(work), "--", "-c", code, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (work / "out.txt").read_text() == "FROM HOST"
    assert (work / "made" / "moved.txt").read_text() == "from host"


def test_dir_mount_at_another_guest_path(host, tmp_path):
    (tmp_path / "f.txt").write_text("mapped")
    proc = run(host, "--dir", f"{tmp_path}::/data:ro", "--", "-c", "print(open('/data/f.txt').read())", cwd=tmp_path)
    assert proc.stdout.strip() == "mapped", proc.stderr


def test_script_given_as_host_path(host, tmp_path):
    script = tmp_path / "srv" / "hello.py"
    script.parent.mkdir()
    script.write_text("import sys; print('hello from', sys.argv[0])")
    proc = run(host, "--", str(script), cwd=tmp_path)
    assert proc.stdout.strip() == f"hello from {script}", proc.stderr


def test_print_capabilities_shows_exactly_what_the_guest_gets(host, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    args = ("--dir", f"{work}:ro", "--env", "GRANTED=1")
    shown = run(host, *args, "--print-capabilities", "--", "-c", "pass", cwd=tmp_path,
                env={"WASI_LSP_TEST_VAR": "host-value"})
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    mounts = [line.split()[0] for line in text.split("mounts (nothing else is visible):\n")[1]
              .split("environment")[0].splitlines()]
    env = dict(line.strip().split("=", 1) for line in text.split("environment (nothing else is passed):\n")[1]
               .split("limits:")[0].splitlines())
    assert f"host: {host}" in text
    assert mounts == [*guest_stdlib_mounts(), "/wasi-lsp/env", "/wasi-lsp/guest", "/tmp", "/dev", str(work)]
    assert env["GRANTED"] == "1" and "WASI_LSP_TEST_VAR" not in env
    # -S: no site hooks, so the guest shows its environment exactly as the host passed it.
    code = (
        "import os, json\n"
        f"print(json.dumps([dict(os.environ), [os.path.isdir(m) for m in {mounts!r}]]))\n"
        "try:\n    os.listdir('/')\nexcept OSError:\n    print('root denied')\n"
    )
    seen = run(host, *args, "--", "-S", "-c", code, cwd=tmp_path, env={"WASI_LSP_TEST_VAR": "host-value"})
    guest_env, visible = json.loads(seen.stdout.splitlines()[0])
    assert guest_env == env
    assert all(visible)
    assert seen.stdout.splitlines()[1] == "root denied"


LOOP = "import sys; print('started', flush=True)\nwhile True:\n    pass"


def test_wall_clock_limit_stops_a_busy_guest(host, tmp_path):
    # -S: the limit counts from the guest's start; skipping site keeps a loaded
    # machine's slow start-up from eating the 2 s before "started" is printed.
    proc = run(host, "--timeout", "2", "--", "-S", "-c", LOOP, cwd=tmp_path, timeout=120)
    assert proc.returncode == 124
    assert proc.stdout.strip() == "started"
    assert "wall-clock limit of 2 s" in proc.stderr
    assert "Caused by" not in proc.stderr and "backtrace" not in proc.stderr  # one report, not wasmtime's


def test_wall_clock_limit_stops_a_guest_blocked_on_stdin(host, tmp_path):
    """An idle server waits in a read, where epoch interruption cannot reach it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "wasi_lsp", "run", "--host", host, "--no-project", "--timeout", "2",
         "--", "-c", "import sys; sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
    )
    try:
        code = proc.wait(timeout=90)  # stdin is never written to nor closed
    except subprocess.TimeoutExpired:
        pytest.fail("the guest outlived its wall-clock limit")
    finally:
        proc.kill()
        proc.stdin.close()
    err = proc.stderr.read()
    assert code == 124, err
    assert b"wall-clock limit of 2 s" in err


ALLOCATE = """
try:
    block = bytearray(200 * 1024 * 1024)
    print('allocated')
except MemoryError:
    print('MemoryError')
print('still running')
"""


def test_memory_limit_gives_memory_error(host, tmp_path):
    proc = run(host, "--max-memory", "64M", "--", "-c", ALLOCATE, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["MemoryError", "still running"]


def test_without_memory_limit_the_same_allocation_succeeds(host, tmp_path):
    proc = run(host, "--", "-c", ALLOCATE, cwd=tmp_path)
    assert proc.stdout.splitlines() == ["allocated", "still running"], proc.stderr


# The wasmtime CLI host's command line is a contract (the Nix wrapper must match it).

def fake_spec(**limits) -> RunSpec:
    runtime = Runtime(name="test", wasm=Path("/rt/python.wasm"), python_version=(3, 12))
    return RunSpec(
        runtime=runtime,
        args=("-c", "pass"),
        env={"ZED": "1", "ALPHA": "x=y"},
        mounts=(Mount(Path("/host/b"), "/b", read_only=False), Mount(Path("/host/a"), "/a", read_only=True)),
        limits=Limits(**limits),
    )


def test_wasmtime_argv_layout():
    from wasi_lsp.hosts.wasmtime_cli import wasmtime_argv

    assert wasmtime_argv(fake_spec(max_memory=64 << 20, timeout=2.5)) == [
        "wasmtime", "run", "--argv0", "python",
        "--dir", "/host/b::/b", "--dir", "/host/a::/a",
        "--env", "ALPHA=x=y", "--env", "ZED=1",
        "-W", f"max-memory-size={64 << 20}", "-W", "timeout=2500ms",
        "/rt/python.wasm", "-c", "pass",
    ]


def test_wasmtime_argv_precompiled_and_whole_seconds():
    from wasi_lsp.hosts.wasmtime_cli import wasmtime_argv

    argv = wasmtime_argv(fake_spec(timeout=3), "/bin/wasmtime", precompiled=Path("/c/x.cwasm"))
    assert argv[:3] == ["/bin/wasmtime", "run", "--allow-precompiled"]
    assert argv[-4:] == ["timeout=3s", "/c/x.cwasm", "-c", "pass"]


def test_wasmtime_cli_refuses_read_only_mounts_it_cannot_enforce(tmp_path):
    """Without user namespaces the CLI would mount everything writable: refuse instead."""
    proc = run("wasmtime-cli", "--", "-c", "print('ran')", cwd=tmp_path, env={"PATH": str(tmp_path)})
    assert proc.returncode == 2
    assert "ran" not in proc.stdout
    assert "cannot make mounts read-only" in proc.stderr and "fix:" in proc.stderr


def test_node_refuses_a_memory_limit_below_what_python_needs(tmp_path):
    proc = run("node", "--max-memory", "1M", "--", "-c", "print('ran')", cwd=tmp_path)
    assert proc.returncode == 2
    assert "ran" not in proc.stdout
    assert "--max-memory" in proc.stderr and "needs to start" in proc.stderr


def test_node_older_than_20_is_reported_unavailable(tmp_path):
    fake = tmp_path / "node"
    fake.write_text("#!/bin/sh\necho v18.19.0\n")
    fake.chmod(0o755)
    proc = run("node", "--", "-c", "pass", cwd=tmp_path, env={"WASI_LSP_NODE": str(fake)})
    assert proc.returncode == 2
    assert "Node.js 18.19.0" in proc.stderr and "20 or newer" in proc.stderr


@pytest.mark.parametrize("child_host", ["wasmtime-cli", "node"])
def test_sigterm_reaches_the_child_host(child_host, tmp_path):
    """An editor stops `wasi-lsp serve` with SIGTERM; the node/wasmtime child must not outlive it."""
    import signal
    import time

    proc, lines = spawn_interactive(child_host, "import sys; print('ready', flush=True); sys.stdin.read()", tmp_path)
    try:
        assert lines.get(timeout=120) == b"ready\n"
        children = [int(c) for task in Path(f"/proc/{proc.pid}/task").iterdir()
                    for c in (task / "children").read_text().split()]
        assert children, "the host should run as a child process"
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(Path(f"/proc/{c}").exists() and "Z" not in Path(f"/proc/{c}/stat").read_text().split()[2]
                  for c in children):
            assert time.monotonic() < deadline, f"child host {children} outlived wasi-lsp after SIGTERM"
            time.sleep(0.1)
    finally:
        proc.kill()
        proc.wait()
