"""``wasi-lsp bench`` end to end with tiny settings: real servers, real hosts, real LSP; not a timing test."""

from __future__ import annotations

import json

import pytest

from conftest import wasi_lsp
from wasi_lsp.bench.measure import generate_document

REQUESTS = {"completion", "hover", "documentSymbol", "didChange→diagnostics"}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    proc = wasi_lsp("bench", "--hosts", "wasmtime", "--runs", "1", "--requests", "2", "--sizes", "30,60",
                    "--servers", "minimal", "--skip", "cold,env,pytest",
                    "--json", str(out / "bench.json"), "--plot", str(out / "bench.png"), timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc, json.loads((out / "bench.json").read_text()), out / "bench.png"


def test_json_holds_every_figure_native_and_wasi(report):
    _proc, data, _png = report
    assert set(data) >= {"machine", "date", "load", "start", "latency", "memory", "interpreter", "env_build", "pytest"}
    for label in ("native", "wasi-wasmtime"):
        start = data["start"]["minimal"][label]
        assert 0 < start["min"] <= start["median"] <= start["max"] and start["n"] == 1
        assert set(data["latency"][label]) == REQUESTS
        for by_size in data["latency"][label].values():
            assert set(by_size) == {"30", "60"}
            assert all(0 < s["p50"] <= s["p95"] for s in by_size.values())
        assert data["memory"][label]["peak_rss_mib"] > 10
        assert data["interpreter"][label] > 0
    # The linear memory is found inside the host process, and only there.
    # (From the default snapshot only the pages touched since resume are resident: a few MiB.)
    assert data["memory"]["wasi-wasmtime"]["linear_mib"] > 1
    assert data["memory"]["native"]["linear_mib"] == 0
    assert data["env_build"] == {} and data["pytest"] == {}  # skipped parts stay empty, not made up


def test_table_and_plot(report):
    proc, _data, png = report
    assert "Cold start" in proc.stdout and "wasi-wasmtime" in proc.stdout and "didChange" in proc.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("args, cause", [
    (["--skip", "everything"], "unknown part to skip: everything"),
    (["--hosts", "qemu"], "unknown host 'qemu'"),
    (["--servers", "big"], "unknown server: big"),
    (["--sizes", "ten"], "--sizes must be line counts"),
    (["--plot", "x.png", "--skip", "latency"], "latency is skipped"),
])
def test_bad_options_fail_before_measuring(args, cause):
    proc = wasi_lsp("bench", *args, timeout=60)
    assert proc.returncode == 2
    assert cause in proc.stderr and "fix:" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("lines", [20, 100, 1000])
def test_generated_document_has_the_size_asked_for(lines):
    text = generate_document(lines)
    assert text.count("\n") == lines and ".. note::" in text and ":ref:`label-" in text
