from conftest import wasi_lsp


def test_run_prints_wasi_platform():
    proc = wasi_lsp("run", "--", "-c", "import sys; print(sys.platform)", check=True)
    assert proc.stdout.strip() == "wasi"


def test_exit_code_propagates():
    proc = wasi_lsp("run", "--", "-c", "import sys; sys.exit(3)")
    assert proc.returncode == 3
