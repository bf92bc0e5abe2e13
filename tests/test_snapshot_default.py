"""``serve`` starts from a snapshot by default, and making one never fails a start.

These run on the built runtime, which scripts/setup.sh builds (as in CI).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import wasi_lsp

PROBE_SERVER = """from pygls.lsp.server import LanguageServer

server = LanguageServer("probe", "v1")
"""


@pytest.fixture
def probe(tmp_path, monkeypatch) -> Path:
    """A project with a probe server, served from a cache with no snapshot history.

    "The first start" must really be the first: a shared cache may hold a snapshot
    this server had from another checkout (another overlay), which serve then
    rightly reports as stale. The private cache shares only the built runtime and
    its compiled module with the user's cache.
    """
    from wasi_lsp import cache
    from wasi_lsp.runtime import built

    try:
        built("3.11")
    except Exception as error:
        pytest.fail(f"scripts/setup.sh did not build the runtime: {error}")
    private = tmp_path / "cache"
    private.mkdir()
    for shared in ("runtimes-built", "aot"):
        (private / shared).symlink_to(cache.cache_dir(shared), target_is_directory=True)
    monkeypatch.setenv("WASI_LSP_CACHE_DIR", str(private))
    project = tmp_path / "project"
    project.mkdir()
    (project / "probe_server.py").write_text(PROBE_SERVER)
    return project


def serve(directory: Path, *options: str, env: dict | None = None):
    """A real start of ``serve`` whose stdin ends at once (the server then exits), as a plain user would."""
    return wasi_lsp("serve", "--no-project", "--runtime", "built:3.11", "--with", "pygls>=2.1,<3",
                    "--dir", str(directory), "--env", f"WASI_LSP_PREPEND={directory}", *options,
                    "probe_server:server", input="", env=env)


def capabilities(directory: Path, *more: str) -> str:
    return wasi_lsp("serve", "--no-project", "--runtime", "built:3.11", "--with", "pygls>=2.1,<3",
                    "--dir", str(directory), *more, "--env", f"WASI_LSP_PREPEND={directory}",
                    "--print-capabilities", "probe_server:server", check=True).stdout


def test_the_first_start_makes_a_snapshot_that_later_starts_use(probe):
    first = serve(probe)
    plain = serve(probe, "--snapshot", "off")
    assert first.returncode == plain.returncode, first.stderr
    assert "snapshot" not in first.stderr, first.stderr  # made quietly
    made = "+ snapshot [pygls,lsprotocol.types,probe_server]"  # its import path reaches into the --dir
    runtime_line = capabilities(probe).splitlines()[1]
    assert made in runtime_line, runtime_line
    # A run with another workspace mounted after it still fits.
    other = probe.parent / f"{probe.name}-workspace"
    other.mkdir()
    assert made in capabilities(probe, "--dir", str(other)).splitlines()[1]


def test_a_server_from_the_environment_gets_a_snapshot_that_fits_every_workspace(probe):
    """rstls lives in the guest overlay: its snapshot has wasi-lsp's mounts only, so any workspace fits."""
    first = wasi_lsp("serve", "--no-project", "--runtime", "built:3.11", "--dir", str(probe), "rstls", input="")
    assert "snapshot" not in first.stderr, first.stderr
    other = probe.parent / f"{probe.name}-docs"
    other.mkdir()
    shown = wasi_lsp("serve", "--no-project", "--runtime", "built:3.11", "--dir", str(other),
                     "--print-capabilities", "rstls", check=True).stdout.splitlines()[1]
    assert "+ snapshot [rstls.server]" in shown, shown


def test_a_snapshot_that_cannot_be_made_means_a_plain_start_and_one_line(probe):
    no_wizer = {"WASI_LSP_WASMTIME": str(probe / "no-such-wasmtime")}
    plain = serve(probe, "--snapshot", "off", env=no_wizer)
    first = serve(probe, env=no_wizer)
    assert first.returncode == plain.returncode, first.stderr
    lines = [line for line in first.stderr.splitlines() if "snapshot" in line]
    assert len(lines) == 1 and "no snapshot for this server" in lines[0] and "wasmtime CLI" in lines[0], first.stderr
    again = serve(probe, env=no_wizer)
    assert again.returncode == plain.returncode and "snapshot" not in again.stderr  # said once, not every start
