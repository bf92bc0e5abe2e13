"""The built runtime's fibers: the evaluation-loop patch keeps Python's semantics, and the module's API refuses misuse.

scripts/runtime/fibers.patch evaluates ``f(*args, **kwargs)`` and ``with`` blocks of
Python functions without C recursion. SEMANTICS runs the cases where that could
differ (bound methods, keywords, wrong arguments, exceptions in ``__enter__``,
deep recursion, tracebacks) natively and in the guest: the outputs must match.
"""

from __future__ import annotations

import subprocess
import sys

from conftest import wasi_lsp

SEMANTICS = r'''
import functools, sys, traceback

def f(a, b=2, *rest, c=3, **kw):
    return (a, b, rest, c, sorted(kw.items()))

class K:
    def m(self, *args, **kwargs):
        return (type(self).__name__, args, sorted(kwargs.items()))
    @classmethod
    def cm(cls, *args):
        return (cls.__name__, args)
    @staticmethod
    def sm(*args):
        return args

out = []
out.append(f(*(1,)))
out.append(f(*(1, 5, 6, 7), **{"c": 9, "z": 0}))
out.append(K().m(*(1, 2), **{"x": 3}))
out.append(K.cm(*(4,)))
out.append(K.sm(*(5,)))
out.append(functools.partial(f, 1)(*(2,), **{"c": 4}))
out.append((lambda *a, **k: (a, sorted(k.items())))(*range(3), **{"k": 1}))
for call in (lambda: f(*(), **{}), lambda: f(*(1,), **{"a": 2}), lambda: f(*(1,), **{1: 2}),
             lambda: K().m(*None)):
    try:
        call()
    except TypeError as error:
        out.append(("TypeError", str(error)))

def wrapped(*args, **kwargs):
    return f(*args, **kwargs)
out.append(wrapped(*(1,), c=5))

def deep(n, *rest):
    return n if n == 0 else deep(*(n - 1,))
sys.setrecursionlimit(400)
try:
    deep(*(10000,))
except RecursionError as error:
    out.append(("RecursionError", str(error)))
out.append(deep(*(300,)))

class CM:
    def __init__(self, fail=False):
        self.fail, self.log = fail, []
    def __enter__(self):
        if self.fail:
            raise ValueError("enter failed")
        self.log.append("enter")
        return "value"
    def __exit__(self, *exc):
        self.log.append(("exit", exc[0].__name__ if exc[0] else None))
        return exc[0] is KeyError

cm = CM()
with cm as v:
    out.append(v)
with cm:
    raise KeyError("swallowed")
out.append(cm.log)
try:
    with CM(fail=True):
        out.append("never")
except ValueError as error:
    out.append(("ValueError", str(error)))

def raiser(*a):
    raise LookupError("deep")
try:
    wrapped2 = lambda *a: raiser(*a)
    wrapped2(*(1,))
except LookupError:
    names = [frame.name for frame in traceback.extract_tb(sys.exc_info()[2])]
    out.append(names)

print(repr(out))
'''


def test_inlined_calls_and_with_blocks_keep_python_semantics():
    native = subprocess.run([sys.executable, "-c", SEMANTICS], capture_output=True, text=True, timeout=60, check=True)
    guest = wasi_lsp("run", "--", "-c", SEMANTICS, timeout=120)
    assert guest.returncode == 0, guest.stderr
    assert guest.stdout == native.stdout


API = r'''
import _wasi_fibers as fibers

out = [fibers.in_fiber(), fibers.can_suspend()]
for bad in (lambda: fibers.Fiber(lambda x: x), lambda: fibers.Fiber(len)):
    try:
        bad()
    except TypeError as error:
        out.append(str(error))
try:
    fibers.suspend()
except RuntimeError as error:
    out.append(str(error))

log = []
def body():
    log.append((fibers.in_fiber(), fibers.can_suspend()))
    fibers.suspend(*())
    log.append("resumed")
    list(map(lambda item: log.append(fibers.can_suspend()), [1, 2]))  # called back from C: cannot
    raise KeyError("from the fiber")

fiber = fibers.Fiber(body)
out.append(fiber.resume())
out.append((fiber.suspended, fiber.finished))
try:
    fiber.resume()
except KeyError as error:
    out.append(("KeyError", str(error)))
out.append((fiber.suspended, fiber.finished, log))
try:
    fiber.resume()
except RuntimeError as error:
    out.append(str(error))
print(repr(out))
'''


def test_the_fibers_module_suspends_resumes_and_refuses_misuse():
    proc = wasi_lsp("run", "--", "-c", API, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert eval(proc.stdout) == [
        False, False,
        "Fiber() takes a Python function of no arguments",
        "Fiber() takes a Python function of no arguments",
        "suspend() must be called as suspend(*()) where can_suspend() is true",
        False,
        (True, False),
        ("KeyError", "'from the fiber'"),
        (False, True, [(True, True), "resumed", False, False]),
        "fiber has finished",
    ]
