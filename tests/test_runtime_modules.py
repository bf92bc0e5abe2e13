"""No module lost: the extension modules each runtime provides, listed and exercised.

WASI builds link every extension module into python.wasm, so
``sys.builtin_module_names`` is the whole list. Each runtime's list is
recorded here; a module missing from it is a regression. The built runtime
must have every module the pinned one has (under its 3.11 name), except the
pinned build's test modules (the built one is configured without them).
"""

from __future__ import annotations

import json

import pytest

from conftest import wasi_lsp

LIST = "import sys, json; print(json.dumps(sorted(sys.builtin_module_names)))"

PINNED = {
    "_abc", "_ast", "_asyncio", "_bisect", "_blake2", "_bz2", "_codecs", "_codecs_cn", "_codecs_hk",
    "_codecs_iso2022", "_codecs_jp", "_codecs_kr", "_codecs_tw", "_collections", "_contextvars", "_crypt", "_csv",
    "_datetime", "_decimal", "_elementtree", "_functools", "_heapq", "_imp", "_io", "_json", "_locale", "_lsprof",
    "_md5", "_multibytecodec", "_opcode", "_operator", "_pickle", "_queue", "_random", "_sha1", "_sha2", "_sha3",
    "_signal", "_socket", "_sqlite3", "_sre", "_stat", "_statistics", "_string", "_struct", "_symtable",
    "_testbuffer", "_testcapi", "_testclinic", "_testinternalcapi", "_thread", "_tokenize", "_tracemalloc",
    "_typing", "_warnings", "_weakref", "_xxtestfuzz", "_zoneinfo", "array", "atexit", "audioop", "binascii",
    "builtins", "cmath", "errno", "faulthandler", "gc", "itertools", "marshal", "math", "posix", "pyexpat",
    "select", "sys", "time", "unicodedata", "xxsubtype", "zlib",
}
#: The pinned 3.12's test-only modules; the built runtime is configured with --disable-test-modules.
PINNED_TEST_MODULES = {"_testbuffer", "_testcapi", "_testclinic", "_testinternalcapi", "_xxtestfuzz"}
#: 3.12 merged 3.11's two SHA-2 modules into one.
RENAMED_IN_3_12 = {"_sha2": {"_sha256", "_sha512"}}
#: Neither runtime had these before the built one gained them.
NEW_IN_BUILT = {"_lzma"}


def modules(*runtime: str) -> set[str]:
    proc = wasi_lsp("run", "--no-project", *runtime, "--", "-c", LIST, check=True)
    return set(json.loads(proc.stdout))


def expected_built() -> set[str]:
    names = set()
    for name in PINNED - PINNED_TEST_MODULES:
        names |= RENAMED_IN_3_12.get(name, {name})
    return names | NEW_IN_BUILT


@pytest.mark.pinned_runtime
def test_the_pinned_runtime_keeps_its_modules():
    assert PINNED - modules("--runtime", "pinned") == set()


def test_the_built_runtime_has_every_module_the_pinned_one_has():
    got = modules("--runtime", "built:3.11")
    missing = expected_built() - got
    assert not missing, f"built:3.11 lacks {sorted(missing)}"


EXERCISE = r"""
import bz2, lzma, sqlite3, zlib
data = b"wasi-lsp " * 1000
assert bz2.decompress(bz2.compress(data)) == data
assert lzma.decompress(lzma.compress(data)) == data
assert lzma.decompress(lzma.compress(data, format=lzma.FORMAT_ALONE)) == data
assert zlib.decompress(zlib.compress(data)) == data
path = "/tmp/t.sqlite"
with sqlite3.connect(path) as db:
    db.execute("create table t (k text primary key, v blob)")
    db.executemany("insert into t values (?, ?)", [(str(i), data) for i in range(100)])
db.close()
db = sqlite3.connect(path)  # a second connection sees the committed rows in the file
print(sqlite3.sqlite_version, db.execute("select count(*), sum(length(v)) from t").fetchone())
"""


def test_the_built_runtime_compresses_and_keeps_a_sqlite_file():
    proc = wasi_lsp("run", "--no-project", "--runtime", "built:3.11", "--", "-c", EXERCISE, check=True)
    assert proc.stdout == "3.40.1 (100, 900000)\n", proc.stdout + proc.stderr
