"""A version the pure-wheel constraint holds back is said in one line, by run/serve and by ``check``.

The known real case on the registry: systemd-language-server's newest
release needs lxml, which has no pure wheel, so pip quietly settles for an
older release whose metadata does not even name lxml. The versions are not
pinned here: the line must name whatever pip picks and whatever is newest.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from conftest import wasi_lsp

HELD_BACK = re.compile(
    r"wasi-lsp: systemd-language-server: installing (\S+), not the newest (\S+): \2 needs lxml, "
    r"which has no pure-Python wheel"
)


def test_run_says_which_version_it_installed_instead_of_the_newest_and_why(tmp_path: Path):
    proc = wasi_lsp("run", "--no-project", "--with", "systemd-language-server", "--",
                    "-c", "import importlib.metadata as m; print(m.version('systemd-language-server'))",
                    cwd=tmp_path, timeout=900)
    assert proc.returncode == 0, proc.stderr
    lines = [l for l in proc.stderr.splitlines() if "not the newest" in l]
    assert len(lines) == 1 and (match := HELD_BACK.fullmatch(lines[0])), proc.stderr
    assert match.group(1) == proc.stdout.strip()  # the line names the version the guest really has


def test_check_reports_the_held_back_dependency(tmp_path: Path):
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        '[project]\nname = "held-back"\nversion = "0.1"\ndependencies = ["systemd-language-server"]\n\n'
        '[dependency-groups]\ntest = ["pytest>=8"]\n'
    )
    (project / "tests" / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    proc = wasi_lsp("check", "--json", str(project), cwd=tmp_path, timeout=900)
    report = json.loads(proc.stdout)
    assert len(report["downgrades"]) == 1 and HELD_BACK.fullmatch("wasi-lsp: " + report["downgrades"][0]), report
    row = next(r for r in report["rows"] if r["name"] == "systemd-language-server")
    assert report["downgrades"][0] in row["pure_note"], row
