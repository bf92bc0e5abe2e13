import os
import socket
import subprocess
import sys

import srcpkg


def test_imported_from_source():
    assert srcpkg.__file__ == os.path.join(os.environ["FIXTURE_ROOT"], "src", "srcpkg", "__init__.py")
    assert sys.platform == "wasi"


def test_double():
    assert srcpkg.double(21) == 42


def test_tmp_path_and_cache(tmp_path, request):
    (tmp_path / "file.txt").write_text("hello")
    assert (tmp_path / "file.txt").read_text() == "hello"
    request.config.cache.set("fixture/value", 42)
    assert request.config.cache.get("fixture/value", None) == 42


def test_print_is_captured(capsys):
    print("captured text")
    assert capsys.readouterr().out == "captured text\n"


def test_fails_on_purpose():
    assert srcpkg.double(2) == 5


def test_needs_a_subprocess():
    # Python children run inside the guest; any other program is what WASI cannot start.
    subprocess.run(["git", "--version"], check=True, capture_output=True)


def test_needs_a_socket():
    socket.socket().close()
