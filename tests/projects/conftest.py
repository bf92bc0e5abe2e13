# These are fixture projects that tests/test_wasi_pytest.py copies and runs
# inside WASI; they are not part of this repository's own test suite.
collect_ignore_glob = ["*"]
