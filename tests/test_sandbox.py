"""Escape attempts against the sandbox, each a test, on every host.

One guest per host makes every attempt of the table in turn (a WASI process
per attempt would multiply the run time for nothing), reporting each outcome
as JSON; every attempt is then its own test. An attempt is denied only when it
raised the error the guest would get from WASI (``OSError``, or ``KeyError``
for a variable that is not there): a typo in an attempt fails its test instead
of passing as "denied". Controls that must succeed prove the probe can see an
escape if there is one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import ALL_HOSTS, REPO, wasi_lsp

SECRET = "wasi-lsp-test-secret-7f3a"
SECRET_VAR = "WASI_LSP_TEST_SECRET"

PRELUDE = '''
import errno, json, os, sys
results = {}

def attempt(name, fn):
    try:
        value = fn()
    except KeyError as error:
        results[name] = ["denied", "KeyError", str(error)]
    except OSError as error:
        results[name] = ["denied", type(error).__name__, errno.errorcode.get(error.errno, error.errno)]
    except BaseException as error:
        results[name] = ["broken", type(error).__name__, str(error)]
    else:
        results[name] = ["allowed", repr(value)[:300]]

def read(path):
    with open(path) as f:
        return f.read()

def write(path, mode="w"):
    with open(path, mode) as f:
        f.write("x")
    return "written"

def chdir_read(directory, relative):
    os.chdir(directory)
    return read(relative)

def symlink_read(target, link):
    os.symlink(target, link)
    return read(link)
'''

#: Attempts that must be denied: name -> guest expression. ``{ro}``, ``{rw}``,
#: ``{outside}``, ``{repo}`` and ``{home}`` are host paths (mounts sit at the
#: same absolute path in the guest).
ESCAPES = {
    # Absolute host paths that are not mounted.
    "abs-etc-passwd": "read('/etc/passwd')",
    "abs-etc-listdir": "os.listdir('/etc')",
    "abs-proc-environ": "read('/proc/self/environ')",
    "abs-proc-listdir": "os.listdir('/proc')",
    "abs-home-listdir": "os.listdir({home!r})",
    "abs-repo-file": "read({repo!r} + '/pyproject.toml')",
    "abs-outside-secret": "read({outside!r} + '/secret.txt')",
    "abs-root-listdir": "os.listdir('/')",
    # `..` out of each mount.
    "dotdot-ro": "read({ro!r} + '/../outside/secret.txt')",
    "dotdot-ro-deep": "read({ro!r} + '/sub/../../outside/secret.txt')",
    "dotdot-rw": "read({rw!r} + '/../outside/secret.txt')",
    "dotdot-tmp": "read('/tmp/../etc/passwd')",
    "dotdot-dev": "read('/dev/../etc/passwd')",
    "dotdot-env": "read('/wasi-lsp/env/../../etc/passwd')",
    "dotdot-overlay": "read('/wasi-lsp/guest/../../etc/passwd')",
    "dotdot-after-chdir": "chdir_read({ro!r}, '../outside/secret.txt')",
    # Symlinks inside a mount that point outside it.
    "symlink-ro-file-abs": "read({ro!r} + '/link_file')",
    "symlink-ro-file-rel": "read({ro!r} + '/link_rel')",
    "symlink-ro-dir-read": "read({ro!r} + '/link_dir/secret.txt')",
    "symlink-ro-dir-listdir": "os.listdir({ro!r} + '/link_dir')",
    "symlink-ro-etc": "read({ro!r} + '/link_etc')",
    "symlink-rw-file": "read({rw!r} + '/link_file')",
    "symlink-rw-dir-read": "read({rw!r} + '/link_dir/secret.txt')",
    "symlink-made-by-guest-abs": "symlink_read({outside!r} + '/secret.txt', {rw!r} + '/evil_abs')",
    "symlink-made-by-guest-rel": "symlink_read('../outside/secret.txt', {rw!r} + '/evil_rel')",
    # Writes to read-only mounts.
    "ro-write": "write({ro!r} + '/file.txt')",
    "ro-append": "write({ro!r} + '/file.txt', 'a')",
    "ro-update": "write({ro!r} + '/file.txt', 'r+')",
    "ro-create": "write({ro!r} + '/new.txt')",
    "ro-create-nested": "write({ro!r} + '/sub/new.txt')",
    "ro-unlink": "os.unlink({ro!r} + '/file.txt')",
    "ro-rename": "os.rename({ro!r} + '/file.txt', {ro!r} + '/renamed.txt')",
    "ro-rename-out": "os.rename({ro!r} + '/file.txt', {rw!r} + '/moved.txt')",
    "ro-rename-in": "os.rename({rw!r} + '/plain.txt', {ro!r} + '/moved-in.txt')",
    "ro-mkdir": "os.mkdir({ro!r} + '/newdir')",
    "ro-rmdir": "os.rmdir({ro!r} + '/empty')",
    "ro-symlink": "os.symlink('file.txt', {ro!r} + '/newlink')",
    "ro-hardlink-in": "os.link({rw!r} + '/plain.txt', {ro!r} + '/hard.txt')",
    "ro-utime": "os.utime({ro!r} + '/file.txt', (1, 1))",
    "ro-truncate": "os.truncate({ro!r} + '/file.txt', 0)",
    "env-mount-write": "write('/wasi-lsp/env/lib/python/planted.py')",
    "overlay-write": "write('/wasi-lsp/guest/sitecustomize.py')",
    # Host environment variables that were not passed.
    "env-secret": f"os.environ[{SECRET_VAR!r}]",
    "env-path": "os.environ['PATH']",
}

#: Attempts that must succeed: without them a broken probe would "deny" everything.
CONTROLS = {
    "read-ro": "read({ro!r} + '/file.txt')",
    "read-ro-inner-symlink": "read({ro!r} + '/inner_link')",
    "listdir-ro-inner-dir-symlink": "os.listdir({ro!r} + '/inner_dir')",
    "write-rw": "write({rw!r} + '/new.txt')",
    "write-tmp": "write('/tmp/scratch.txt')",
    "env-passed": "os.environ['PASSED']",
}


def make_tree(root: Path) -> dict[str, str]:
    outside, ro, rw = root / "outside", root / "ro", root / "rw"
    for d in (outside, ro / "sub", ro / "empty", rw):
        d.mkdir(parents=True)
    (outside / "secret.txt").write_text(SECRET)
    (ro / "file.txt").write_text("read-only content")
    (rw / "plain.txt").write_text("plain")
    (ro / "link_file").symlink_to(outside / "secret.txt")
    (ro / "link_rel").symlink_to("../outside/secret.txt")
    (ro / "link_dir").symlink_to(outside)
    (ro / "link_etc").symlink_to("/etc/passwd")
    (ro / "inner_link").symlink_to("file.txt")
    (ro / "inner_dir").symlink_to("sub")
    (rw / "link_file").symlink_to(outside / "secret.txt")
    (rw / "link_dir").symlink_to(outside)
    return {"ro": str(ro), "rw": str(rw), "outside": str(outside), "repo": str(REPO), "home": str(Path.home())}


def snapshot(directory: Path) -> dict[str, object]:
    """Names, link targets, contents and mtimes: any write to a read-only tree changes it."""
    state = {}
    for path in sorted(directory.rglob("*")):
        rel = str(path.relative_to(directory))
        if path.is_symlink():
            state[rel] = ("link", os.readlink(path))
        elif path.is_dir():
            state[rel] = ("dir",)
        else:
            state[rel] = ("file", path.read_text(), path.stat().st_mtime_ns)
    return state


@pytest.fixture(scope="module", params=ALL_HOSTS)
def probe(request, tmp_path_factory) -> dict:
    """Run every attempt in one guest on one host; the outcomes and the read-only tree before and after."""
    root = tmp_path_factory.mktemp(f"sandbox-{request.param}")
    paths = make_tree(root)
    lines = [PRELUDE]
    for name, expr in {**CONTROLS, **ESCAPES}.items():
        lines.append(f"attempt({name!r}, lambda: {expr.format(**paths)})")
    lines.append("print(json.dumps(results))")
    before = snapshot(root / "ro")
    proc = wasi_lsp(
        "run", "--host", request.param, "--no-project",
        "--dir", f"{paths['rw']}", "--dir", f"{paths['ro']}:ro", "--env", "PASSED=yes",
        "--", "-c", "\n".join(lines),
        cwd=root, env={SECRET_VAR: SECRET},
    )
    assert proc.returncode == 0, proc.stderr
    return {"results": json.loads(proc.stdout.splitlines()[-1]), "stdout": proc.stdout,
            "before": before, "after": snapshot(root / "ro")}


@pytest.mark.parametrize("name", ESCAPES)
def test_escape_is_denied(probe, name):
    outcome = probe["results"][name]
    assert outcome[0] == "denied", f"{name}: {outcome}"
    if name.startswith("ro-") or name.endswith("-write"):
        # Refused for being read-only, not because an earlier attempt got through and removed the file.
        assert outcome[2] != "ENOENT", f"{name}: {outcome}"


@pytest.mark.parametrize("name", CONTROLS)
def test_control_is_allowed(probe, name):
    outcome = probe["results"][name]
    assert outcome[0] == "allowed", f"{name}: {outcome}"


def test_secret_never_reaches_the_guest(probe):
    assert SECRET not in probe["stdout"]


def test_read_only_tree_is_unchanged(probe):
    assert probe["after"] == probe["before"]
