"""Child-process scenarios, run natively (real processes) and inside WASI (in-guest children).

Prints one JSON object: scenario name -> what the parent observed. The test
compares native and WASI per scenario; ``wasi_only`` scenarios hold what WASI
decides differently (shared modules, non-Python programs).
"""

import asyncio
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PY = sys.executable or "python3"
results = {}


def scenario(fn):
    try:
        results[fn.__name__] = fn()
    except BaseException as error:  # noqa: BLE001 - record, so one failure does not hide the others
        results[fn.__name__] = f"raised {type(error).__name__}: {error}"
    return fn


@scenario
def argv_stdout_and_exit_code():
    r = subprocess.run([PY, "-c", "import sys; print('hi', sys.argv); sys.exit(3)", "a", "b"], capture_output=True, text=True)
    return [r.returncode, r.stdout, r.stderr]


@scenario
def communicate_text():
    p = subprocess.Popen([PY, "-c", "import sys\nfor line in sys.stdin: print(line.strip().upper())"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    out, err = p.communicate("abc\ndef\n")
    return [p.returncode, out, err]


@scenario
def env_and_cwd():
    code = "import os; print(os.getcwd(), os.environ.get('ONLY_CHILD'), 'HOME' in os.environ)"
    r = subprocess.run([PY, "-c", code], capture_output=True, text=True, cwd=HERE, env={"ONLY_CHILD": "yes"})
    return [r.returncode, r.stdout, os.environ.get("ONLY_CHILD")]


@scenario
def uncaught_exception():
    r = subprocess.run([PY, "-c", "raise ValueError('boom')"], capture_output=True, text=True)
    return [r.returncode, r.stderr.splitlines()[0], r.stderr.splitlines()[-1]]


@scenario
def sys_exit_with_message_and_os_exit():
    a = subprocess.run([PY, "-c", "import sys; sys.exit('bad news')"], capture_output=True, text=True)
    b = subprocess.run([PY, "-c", "import os; print('x', flush=True); os._exit(7)"], capture_output=True, text=True)
    return [a.returncode, a.stderr, b.returncode, b.stdout]


@scenario
def module_with_pythonpath():
    env = dict(os.environ, PYTHONPATH=HERE)
    r = subprocess.run([PY, "-m", "helper_mod", "x"], capture_output=True, text=True, env=env)
    missing = subprocess.run([PY, "-m", "no_such_module_here"], capture_output=True, text=True)
    return [r.returncode, r.stdout, missing.returncode, "No module named no_such_module_here" in missing.stderr]


@scenario
def stdlib_module_json_tool():
    return subprocess.run([PY, "-m", "json.tool"], input='{"b": 1, "a": [1, 2]}', capture_output=True, text=True).stdout


@scenario
def script_file_and_isolated_flags():
    path = os.path.join(HERE, "helper_mod.py")
    r = subprocess.run([PY, "-I", "-S", "-u", path, "s"], capture_output=True, text=True)
    return [r.returncode, r.stdout]


@scenario
def check_output_and_called_process_error():
    out = subprocess.check_output([PY, "-c", "print(6 * 7)"])
    try:
        subprocess.run([PY, "-c", "raise SystemExit(4)"], check=True)
    except subprocess.CalledProcessError as error:
        return [out.decode(), error.returncode]


@scenario
def nested_children():
    code = ("import subprocess, sys; "
            "r = subprocess.run([sys.executable or 'python3', '-c', 'print(\"grandchild\")'], capture_output=True, text=True); "
            "print('child got', r.stdout.strip(), r.returncode)")
    return subprocess.run([PY, "-c", code], capture_output=True, text=True).stdout


@scenario
def child_never_reads_stdin():
    p = subprocess.Popen([PY, "-c", "print('done')"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    out, _ = p.communicate(b"x" * 1_000_000)
    return [p.returncode, out.decode()]


@scenario
def kill_and_terminate():
    codes = []
    for stop in ("kill", "terminate"):
        p = subprocess.Popen([PY, "-c", "import sys; sys.stdin.readline(); print('never')"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        getattr(p, stop)()
        codes.append([p.wait(), p.stdout.read().decode()])
    return codes


@scenario
def interleaved_with_communicate_per_child():
    # The portable form of a dialogue: each exchange a child of its own (works on one stack).
    seen = []
    for word in ("one", "two"):
        p = subprocess.Popen([PY, "-c", "print('echo', input())"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        seen.append(p.communicate(word + "\n")[0])
    return seen


@scenario
def thread_reads_stdin():
    code = ("import sys, threading\n"
            "lines = []\n"
            "reader = threading.Thread(target=lambda: lines.extend(sys.stdin.read().split()))\n"
            "reader.start(); reader.join()\n"
            "print(sorted(lines))")
    return subprocess.run([PY, "-c", code], input="b a c\n", capture_output=True, text=True).stdout


@scenario
def stderr_to_stdout_and_devnull():
    a = subprocess.run([PY, "-c", "import sys; print('o'); print('e', file=sys.stderr)"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    b = subprocess.run([PY, "-c", "print('gone')"], stdout=subprocess.DEVNULL)
    return [sorted(a.stdout.split()), b.returncode, b.stdout]


@scenario
def child_state_is_isolated():
    code = ("import atexit, logging, os, sys; os.environ['LEAK'] = '1'; os.chdir('/'); sys.path.append('/leak'); "
            "logging.basicConfig(); logging.getLogger().setLevel(logging.DEBUG); sys.argv.append('leak'); "
            "logging.getLogger('tool').addHandler(logging.StreamHandler(sys.stdout)); "
            "atexit.register(print, 'child atexit'); print('child', __name__)")
    import logging
    logging.getLogger("tool")
    before = [os.getcwd(), list(sys.path), list(logging.getLogger().handlers), logging.getLogger().level, list(sys.argv)]
    out = subprocess.run([PY, "-c", code], capture_output=True, text=True).stdout
    after = [os.getcwd(), list(sys.path), list(logging.getLogger().handlers), logging.getLogger().level, list(sys.argv)]
    return [out, before == after, os.environ.get("LEAK"), __name__, logging.getLogger("tool").handlers]


async def _async_echo():
    proc = await asyncio.create_subprocess_exec(
        PY, "-c", "import sys\nwhile True:\n  l = sys.stdin.readline()\n  if not l: break\n  sys.stdout.write('got ' + l); sys.stdout.flush()",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    lines = []
    for word in ("one", "two"):
        proc.stdin.write(word.encode() + b"\n")
        await proc.stdin.drain()
        lines.append((await proc.stdout.readline()).decode())
    proc.stdin.close()
    return [lines, await proc.wait(), proc.returncode]


async def _async_reader_thread():
    # esbonio's sphinx agent: the child reads stdin from a "thread" (run_in_executor) under asyncio.
    child = (
        "import asyncio, sys\n"
        "from concurrent.futures import ThreadPoolExecutor\n"
        "async def main():\n"
        "    loop = asyncio.get_running_loop()\n"
        "    pool = ThreadPoolExecutor()\n"
        "    while True:\n"
        "        line = await loop.run_in_executor(pool, sys.stdin.buffer.readline)\n"
        "        if not line: break\n"
        "        sys.stdout.buffer.write(b'agent ' + line); sys.stdout.flush()\n"
        "asyncio.run(main())\n"
    )
    proc = await asyncio.create_subprocess_exec(PY, "-c", child, stdin=asyncio.subprocess.PIPE,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    replies = []
    for n in range(3):
        proc.stdin.write(f"request {n}\n".encode())
        await proc.stdin.drain()
        replies.append(await asyncio.wait_for(proc.stdout.readline(), 30))
    proc.stdin.close()
    await proc.wait()
    return [[r.decode() for r in replies], proc.returncode, (await proc.stderr.read()).decode()]


async def _async_communicate_and_kill():
    proc = await asyncio.create_subprocess_exec(PY, "-c", "import sys; print(sys.stdin.read()[::-1])",
                                                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate(b"olleh")
    sleeper = await asyncio.create_subprocess_exec(PY, "-c", "import sys; sys.stdin.read()", stdin=asyncio.subprocess.PIPE)
    sleeper.kill()
    return [out.decode(), proc.returncode, await sleeper.wait()]


async def _async_kill_blocked_reader():
    # The child is running and blocked reading its stdin when it is killed.
    proc = await asyncio.create_subprocess_exec(
        PY, "-u", "-c", "import sys\nfor line in sys.stdin: print('echo', line.strip())",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    proc.stdin.write(b"first\n")
    first = await asyncio.wait_for(proc.stdout.readline(), 30)
    proc.kill()
    return [first.decode(), await proc.wait()]


for name, coro in (("asyncio_kill_blocked_reader", _async_kill_blocked_reader), ("asyncio_echo", _async_echo), ("asyncio_reader_thread", _async_reader_thread),
                   ("asyncio_communicate_and_kill", _async_communicate_and_kill)):
    try:
        results[name] = asyncio.run(coro())
    except BaseException as error:  # noqa: BLE001
        results[name] = f"raised {type(error).__name__}: {error}"

def synchronous_dialogue():
    """write, readline, write, readline... with one child: a known limit inside WASI (one stack)."""
    p = subprocess.Popen([PY, "-u", "-c", "import sys\nfor line in sys.stdin: print('echo', line.strip(), flush=True)"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
    seen = []
    try:
        for word in ("one", "two"):
            p.stdin.write(word + "\n")
            p.stdin.flush()
            seen.append(p.stdout.readline())
        p.stdin.close()
    except BrokenPipeError as error:
        seen.append(f"BrokenPipeError: {error}")
    p.wait()
    return [seen, p.returncode, p.stderr.read().strip().splitlines()[-1:]]


wasi_only = {}
if sys.platform == "wasi":
    wasi_only["synchronous_dialogue"] = synchronous_dialogue()
    try:
        subprocess.run(["git", "status"])
    except OSError as error:
        wasi_only["not_python"] = [error.errno, str(error)]
    out = subprocess.run([PY, "-c", "import sys; print('json' in sys.modules)"], capture_output=True, text=True).stdout
    wasi_only["modules_shared"] = out
results["wasi_only"] = wasi_only
print(json.dumps(results, default=repr))
