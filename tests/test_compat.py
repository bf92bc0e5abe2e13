"""The OS compat shims, checked inside real WASI guests (see compat/os_shims.py for the table)."""

from __future__ import annotations

import textwrap

import pytest

from conftest import wasi_lsp


def guest(code: str, *options: str) -> str:
    """Run ``code`` in the guest and return its stdout; any failure fails the test."""
    proc = wasi_lsp("run", *options, "--", "-c", textwrap.dedent(code), check=True)
    return proc.stdout


def test_user_and_group_ids_match_file_ownership():
    # pytest's basetemp check compares these with st_uid; WASI reports 0 for every file.
    out = guest("""
        import os
        st = os.stat("/tmp")
        print(os.getuid(), os.geteuid(), os.getgid(), os.getegid(), os.getgroups())
        print(st.st_uid == os.getuid(), st.st_gid == os.getgid())
    """)
    assert out.split("\n")[:2] == ["0 0 0 0 [0]", "True True"]


def test_pwd_grp_and_getpass():
    out = guest("""
        import getpass, grp, os, pwd
        print(getpass.getuser())
        entry = pwd.getpwuid(os.getuid())
        print(entry.pw_name, entry.pw_dir, entry[2], pwd.getpwnam("wasi") == entry)
        print(grp.getgrgid(os.getgid()).gr_name)
        for lookup, key in ((pwd.getpwuid, 4242), (pwd.getpwnam, "nobody"), (grp.getgrgid, 7)):
            try:
                lookup(key)
            except KeyError:
                print("KeyError")
    """)
    assert out.splitlines() == ["wasi", "wasi /tmp 0 True", "wasi", "KeyError", "KeyError", "KeyError"]


def test_user_env_wins_for_getpass():
    assert guest("import getpass; print(getpass.getuser())", "--env", "USER=alice").strip() == "alice"


def test_home_is_the_writable_scratch_dir():
    out = guest("""
        import os
        from pathlib import Path
        print(os.environ["HOME"], Path.home(), os.path.expanduser("~/notes.txt"))
        (Path.home() / "f").write_text("ok")
        print((Path.home() / "f").read_text())
    """)
    assert out.splitlines() == ["/tmp /tmp /tmp/notes.txt", "ok"]


def test_explicit_home_is_kept():
    assert guest("import os; print(os.path.expanduser('~'))", "--env", "HOME=/elsewhere").strip() == "/elsewhere"


def test_umask_tracks_the_process_mask():
    out = guest("""
        import os
        print(oct(os.umask(0o077)), oct(os.umask(0o027)), oct(os.umask(0o022)))
    """)
    assert out.strip() == "0o22 0o77 0o27"


def test_getppid():
    assert guest("import os; print(os.getppid())").strip() == "1"


def test_dup_raises_a_clear_error():
    out = guest("""
        import errno, os
        try:
            os.dup(1)
        except OSError as error:
            print(error.errno == errno.ENOTSUP, error.strerror)
    """)
    assert out.startswith("True os.dup: WASI preview 1 cannot duplicate a file descriptor")


def test_missing_process_calls_stay_missing_but_say_why():
    out = guest("""
        import os
        print(hasattr(os, "fork"), hasattr(os, "pipe"), hasattr(os, "dup2"))
        for name in ("fork", "pipe", "dup2", "kill", "no_such_thing"):
            try:
                getattr(os, name)
            except AttributeError as error:
                print(error)
    """)
    lines = out.splitlines()
    assert lines[0] == "False False False"
    assert lines[1] == "module 'os' has no attribute 'fork': WASI has no processes to fork"
    assert lines[2] == "module 'os' has no attribute 'pipe': WASI preview 1 has no pipes"
    assert "cannot duplicate or replace a file descriptor" in lines[3]
    assert "no signals" in lines[4]
    assert lines[5] == "module 'os' has no attribute 'no_such_thing'"


def test_terminal_size_without_a_terminal():
    out = guest("""
        import errno, os, shutil
        try:
            os.get_terminal_size()
        except OSError as error:
            print("OSError", error.errno == errno.ENOTTY)
        print(tuple(shutil.get_terminal_size()))
    """)
    # stdout is a pipe here: POSIX raises ENOTTY and shutil falls back to 80x24.
    assert out.splitlines() == ["OSError True", "(80, 24)"]


def test_terminal_size_on_a_terminal():
    import os
    import pty
    import subprocess
    import sys

    main, child = pty.openpty()
    code = "import os; print('size', tuple(os.get_terminal_size()), os.isatty(1))"
    proc = subprocess.run(
        [sys.executable, "-m", "wasi_lsp", "run", "--env", "COLUMNS=132", "--", "-c", code],
        stdout=child, stderr=subprocess.PIPE, timeout=120,
    )
    os.close(child)
    output = os.read(main, 4096).decode()
    os.close(main)
    assert proc.returncode == 0, proc.stderr
    assert "size (132, 24) True" in output


def test_devnull_reads_empty_and_swallows_writes():
    out = guest("""
        import os
        with open(os.devnull, "w") as f:
            print(f.write("hello"), f.name, f.mode)
        print(repr(open(os.devnull).read()), repr(open(os.devnull, "rb").read()))
        with open(os.devnull, "r+b") as f:
            f.write(b"x" * 100000); f.flush(); f.seek(0)
            print(repr(f.read()))
        fd = os.open(os.devnull, os.O_WRONLY)
        os.write(fd, b"abc"); os.close(fd)
        fd = os.open(os.devnull, os.O_RDWR)
        print(repr(os.read(fd, 10)))
        os.chdir("/dev")
        print(repr(open("null").read()), os.path.getsize("/dev/null"))
        try:
            open(os.devnull, "x")
        except FileExistsError:
            print("FileExistsError")
    """)
    assert out.splitlines() == ["5 /dev/null w", "'' b''", "b''", "b''", "'' 0", "FileExistsError"]


def test_chdir_root_is_emulated_and_relative_paths_follow_it():
    out = guest("""
        import os
        from pathlib import Path
        os.chdir("/tmp")
        Path("here.txt").write_text("in tmp")
        os.chdir("/")
        print(os.getcwd(), Path.cwd(), os.path.abspath("tmp"))
        print(open("tmp/here.txt").read(), os.path.isfile("tmp/here.txt"), os.listdir("tmp"))
        os.makedirs("tmp/a/b")
        os.rename("tmp/here.txt", "tmp/a/moved.txt")
        os.chdir("tmp/a")
        print(os.getcwd(), os.listdir("."), sorted(os.listdir()))
        os.chdir("../..")
        print(os.getcwd())
        os.chdir("/tmp/a/b")
        Path("deep.txt").write_text("deep")
        print(os.getcwd(), os.path.exists("/tmp/a/b/deep.txt"))
        try:
            os.chdir("/no/such/dir")
        except FileNotFoundError:
            print("FileNotFoundError", os.getcwd())
    """)
    assert out.splitlines() == [
        "/ / /tmp",
        "in tmp True ['here.txt']",
        "/tmp/a ['b', 'moved.txt'] ['b', 'moved.txt']",
        "/",
        "/tmp/a/b True",
        "FileNotFoundError /tmp/a/b",
    ]


def test_chdir_root_does_not_open_the_host_root(tmp_path):
    # The emulated "/" is a name only: nothing outside the mounts becomes reachable.
    out = guest(f"""
        import os
        os.chdir("/")
        for path in ("etc/passwd", "{tmp_path.relative_to("/")}"):
            try:
                open(path).read()
                print("READ", path)
            except OSError as error:
                print(type(error).__name__)
    """)
    assert "READ" not in out
    assert len(out.splitlines()) == 2


def test_shims_are_skipped_on_a_native_python():
    # compat.install() must not touch a host interpreter that imports the guest package.
    import os

    from wasi_lsp_guest import compat

    before = os.getcwd
    compat.install()
    assert os.getcwd is before


@pytest.mark.parametrize("code, expected", [
    ("import os; print(os.getuid(), os.umask(0), os.getppid())", "0 18 1"),
])
def test_shims_on_every_host(host, code, expected):
    proc = wasi_lsp("run", "--host", host, "--", "-c", code)
    if "cannot run here" in proc.stderr:
        pytest.skip(proc.stderr.strip())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == expected


def test_installing_twice_changes_nothing():
    out = guest("""
        import os
        from wasi_lsp_guest import compat
        from wasi_lsp_guest.compat import os_shims
        chdir, open_ = os.chdir, open
        compat.install(); os_shims.install()
        print(os.chdir is chdir, open is open_)
        os.chdir("/"); os.chdir("/tmp")
        print(os.getcwd(), open(os.devnull).read() == "")
    """)
    assert out.splitlines() == ["True True", "/tmp True"]


UNGRANTED_PATHS_ARE_ABSENT = """
    import os, pathlib
    print(pathlib.Path("/minimal.css").exists(), os.path.isfile("/etc/passwd"))
    try:
        os.stat("/etc/passwd")
    except FileNotFoundError as error:
        print("absent", error.errno == 44)
"""


def test_paths_outside_every_mount_are_absent():
    assert guest(UNGRANTED_PATHS_ARE_ABSENT).split() == ["False", "False", "absent", "True"]


@pytest.mark.runtime_build
def test_paths_outside_every_mount_are_absent_on_the_built_runtime():
    # wasi-libc 2022 (the built 3.11) answers ENOTCAPABLE here, which pathlib treats as an error.
    assert guest(UNGRANTED_PATHS_ARE_ABSENT, "--runtime", "built:3.11").split() == ["False", "False", "absent", "True"]
