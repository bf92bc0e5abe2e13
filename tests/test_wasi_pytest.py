"""``wasi-lsp pytest``: fixture projects and real registry projects, run by pytest inside WASI."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import REPO, wasi_lsp

PROJECTS = REPO / "tests" / "projects"


def copy_project(name: str, tmp_path: Path) -> Path:
    """A fresh copy, so that .pytest_cache and reports never land in the repository."""
    target = tmp_path / name
    shutil.copytree(PROJECTS / name, target)
    return target


def run_pytest(project: Path, *pytest_args: str, options: tuple[str, ...] = (), cwd: Path | None = None):
    return wasi_lsp("pytest", "--env", f"FIXTURE_ROOT={project}", *options, str(project), "--", *pytest_args,
                    cwd=cwd or project, timeout=900)


def test_src_layout_passes_and_skips_impure_dependency_in_one_line(tmp_path):
    project = copy_project("srclayout", tmp_path)
    proc = run_pytest(project, "-k", "not fails_on_purpose", "-p", "no:randomly")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [l for l in proc.stderr.splitlines() if "ujson" in l and "no pure-Python wheel" in l]
    assert lines == ["wasi-lsp: ujson: ujson has no pure-Python wheel; skipped"], proc.stderr
    assert "4 passed, 1 skipped, 1 deselected, 2 wasi-impossible" in proc.stdout, proc.stdout
    assert "3 test(s) WASI cannot run: not run to completion, not passed" in proc.stdout
    assert "WASI-IMPOSSIBLE tests/test_needs_ctypes.py - WASI lacks ctypes" in proc.stdout
    assert "WASI-IMPOSSIBLE tests/test_srcpkg.py::test_needs_a_subprocess - WASI lacks subprocesses" in proc.stdout
    assert "WASI-IMPOSSIBLE tests/test_srcpkg.py::test_needs_a_socket - WASI lacks sockets" in proc.stdout
    assert (project / ".pytest_cache" / "v" / "fixture" / "value").read_text().strip() == "42"


def test_threads_that_take_turns_pass_and_a_real_failure_stays_one(tmp_path):
    # On the built runtime a waiting thread is a fiber: the main thread goes on while the worker waits.
    project = copy_project("onestack", tmp_path)
    proc = run_pytest(project, "-q", "-p", "no:randomly")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "1 failed, 2 passed in" in proc.stdout
    assert "wasi-impossible" not in proc.stdout and "WASI-IMPOSSIBLE" not in proc.stdout
    assert "FAILED tests/test_threads.py::test_a_real_failure_with_threads - assert 2 == 3" in proc.stdout


def test_without_fibers_a_test_needing_threads_side_by_side_is_wasi_impossible(tmp_path):
    # The pinned runtime has no fibers: the worker runs on top of the main thread's wait.
    project = copy_project("onestack", tmp_path)
    proc = run_pytest(project, "-q", "-p", "no:randomly", options=("--runtime", "pinned"))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "1 failed, 1 passed, 1 wasi-impossible" in proc.stdout
    assert ("WASI-IMPOSSIBLE tests/test_threads.py::test_worker_blocks_until_the_main_thread_goes_on - WASI lacks "
            "threads that run side by side (one stack: the main thread's queue.Queue.get at "
            f"{project}/tests/test_threads.py:15 could resume, but thread 'Thread-1 (worker)' ran on top of it "
            f"(threading.Event.wait at {project}/tests/test_threads.py:11)): AssertionError") in proc.stdout
    assert "FAILED tests/test_threads.py::test_a_real_failure_with_threads - assert 2 == 3" in proc.stdout


def test_strict_refuses_a_dependency_without_pure_wheel(tmp_path):
    project = copy_project("srclayout", tmp_path)
    proc = run_pytest(project, options=("--strict",))
    assert proc.returncode == 2
    assert "ujson has no pure-Python wheel" in proc.stderr and "--strict" in proc.stderr
    assert "test session starts" not in proc.stdout


def test_failing_test_exit_code_and_k_selection(tmp_path):
    project = copy_project("srclayout", tmp_path)
    proc = run_pytest(project, "-q", "-k", "fails_on_purpose or double")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "1 failed, 1 passed, 1 skipped, 5 deselected" in proc.stdout
    assert "assert 4 == 5" in proc.stdout


def test_wasi_impossible_tests_count_as_failures_under_strict(tmp_path):
    project = copy_project("srclayout", tmp_path)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(', "ujson"', ""))  # --strict would refuse it first
    proc = run_pytest(project, "-q", "-k", "socket or double", "--ignore=tests/test_needs_ctypes.py",
                      options=("--strict",))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "1 failed, 1 passed" in proc.stdout
    assert "WASI-IMPOSSIBLE tests/test_srcpkg.py::test_needs_a_socket - WASI lacks sockets" in proc.stdout
    # A module that cannot even be imported stays a collection error: pytest's exit code 2.
    proc = run_pytest(project, "-q", "-k", "double", options=("--strict",))
    assert proc.returncode == 2 and "ERROR tests/test_needs_ctypes.py" in proc.stdout


def test_junitxml_lands_on_the_host_inside_and_outside_the_project(tmp_path):
    project = copy_project("srclayout", tmp_path)
    outside = tmp_path / "reports" / "junit.xml"
    proc = run_pytest(project, "-q", "-k", "double or socket", f"--junitxml={outside}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    suite = ET.parse(outside).getroot().find("testsuite")
    assert suite.get("tests") == "3" and suite.get("skipped") == "2"
    skipped = sorted((s.get("message"), s.text or "") for s in ET.parse(outside).getroot().iter("skipped"))
    assert skipped[0][0] == "WASI lacks sockets: OSError: [Errno 58] Not supported"
    assert skipped[1][0] == "collection skipped" and "WASI lacks ctypes" in skipped[1][1]
    proc = run_pytest(project, "-q", "-k", "double", "--junitxml", "out/relative.xml")
    assert proc.returncode == 0
    assert ET.parse(project / "out" / "relative.xml").getroot().find("testsuite").get("tests") == "2"


def test_flat_layout_and_namespace_package(tmp_path):
    project = copy_project("flatlayout", tmp_path)
    proc = run_pytest(project, "-q")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 passed" in proc.stdout
    assert "test requirements from tests/requirements.txt: pytest" in proc.stderr


def test_source_copy_wins_over_the_registry_copy(tmp_path):
    project = copy_project("shadowed", tmp_path)
    proc = run_pytest(project, "-q")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 passed" in proc.stdout


def test_pth_editable_install_in_the_guest_site_dir(tmp_path):
    project = copy_project("editable", tmp_path)
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    # setuptools' own PEP 660 hook: the editable wheel pip would install for `pip install -e helper`.
    built = subprocess.run(
        [sys.executable, "-c", "import sys; from setuptools import build_meta as b; print(b.build_editable(sys.argv[1]))",
         str(wheels)],
        cwd=project / "helper", capture_output=True, text=True, check=True,
    ).stdout.strip().splitlines()[-1]
    wheel = wheels / built
    import zipfile

    assert any(name.endswith(".pth") for name in zipfile.ZipFile(wheel).namelist())
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + f'\n[tool.wasi-lsp]\ntest-requirements = ["pytest", "{wheel}"]\n')
    proc = run_pytest(project, "-q")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout


def test_check_reports_per_dependency_and_suggests_the_classifier(tmp_path):
    flat = copy_project("flatlayout", tmp_path)
    proc = wasi_lsp("check", "--json", "--env", f"FIXTURE_ROOT={flat}", str(flat), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["compatible"] and "Environment :: WebAssembly :: WASI" in report["suggestion"]
    assert report["suite"]["passed"] == 2 and report["suite"]["exit_code"] == 0
    assert [r["name"] for r in report["rows"]] == ["wasi-lsp-fixture-flat", "pytest"]
    assert report["rows"][0]["modules"] == ["flatpkg"]

    src = copy_project("srclayout", tmp_path)
    proc = wasi_lsp("check", "--env", f"FIXTURE_ROOT={src}", str(src), cwd=tmp_path, env={"COLUMNS": "200"})
    assert proc.returncode == 1
    assert "ujson has no pure-Python wheel" in proc.stdout
    assert "3 WASI-impossible" in proc.stdout and "1 failed" in proc.stdout
    assert "trove classifier" not in proc.stdout


# --- real projects, from their registry sdists -------------------------------------------------

#: Packaging's quick modules, for the default run; its whole suite (62,000 tests) is marked slow.
PACKAGING_QUICK = ["tests/test_utils.py", "tests/test_dependency_groups.py", "tests/test_errors.py",
                   "tests/test_licenses.py"]
REGISTRY_PROJECTS = {
    # test id: (requirement, test directory inside the sdist, pytest arguments, expected summary fragments)
    "iniconfig": ("iniconfig==2.3.1", "testing", [], ["54 passed"]),
    "pluggy": ("pluggy==1.7.0", "testing", [], ["219 passed"]),
    "packaging-quick": ("packaging==26.3", "tests", PACKAGING_QUICK, ["130 passed"]),
    "packaging": ("packaging==26.3", "tests", [], [" passed", "1 xfailed"]),
    # As natively: callback_iter's thread and its consumer take turns as fibers (nothing wasi-impossible).
    "more-itertools": ("more-itertools==11.2.1", "tests", [], ["765 passed, 21194 subtests passed in"]),
}
SLOW = {"packaging", "more-itertools"}


def sdist_project(requirement: str, tmp_path: Path) -> Path:
    """The project's sdist from the registry (cached), unpacked fresh."""
    from wasi_lsp import cache

    downloads = cache.cache_dir("test-sdists")
    name, version = requirement.split("==")
    stem = f"{name.replace('-', '_')}-{version}"
    archives = [p for p in downloads.glob("*.tar.gz") if p.name.lower().startswith(stem.lower())]
    if not archives:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
                        "--disable-pip-version-check", "-q", "-d", str(downloads), requirement], check=True)
        archives = [p for p in downloads.glob("*.tar.gz") if p.name.lower().startswith(stem.lower())]
    with tarfile.open(archives[0]) as tar:
        tar.extractall(tmp_path, filter="data")
    return next(p for p in tmp_path.iterdir() if p.is_dir() and p.name.lower().startswith(stem.lower()))


@pytest.mark.parametrize(
    "suite",
    [pytest.param(r, marks=pytest.mark.slow) if r in SLOW else r for r in REGISTRY_PROJECTS],
)
def test_registry_project_suite_is_green(suite, tmp_path):
    requirement, test_dir, selection, expected = REGISTRY_PROJECTS[suite]
    project = sdist_project(requirement, tmp_path)
    assert any((project / test_dir).glob("test_*.py")), "the sdist must ship its tests"
    proc = wasi_lsp("pytest", str(project), "--", "-q", "-p", "no:cacheprovider", *selection,
                    cwd=project if selection else tmp_path, timeout=3600)
    summary = proc.stdout.strip().splitlines()[-1]
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert not re.search(r"\b\d+ (failed|errors?)\b", summary), summary  # "1 xfailed" is fine
    for fragment in expected:
        assert fragment in summary, summary


# --- scaling out: pytest-split shards, one guest each -----------------------------------------


def _counts(stdout: str) -> str:
    """The final summary line without its timing and rulers: what must not change when sharded."""
    last = stdout.strip().splitlines()[-1]
    return re.sub(r" in [\d.]+s.*$", "", last.strip("= "))


def _impossible(stdout: str) -> set[str]:
    return {line for line in stdout.splitlines() if line.startswith("WASI-IMPOSSIBLE ")}


def _cases(junit: Path) -> dict[tuple[str, str], str]:
    """Each test case in a JUnit file and how it ended."""
    cases = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        ended = next((child.tag for child in case if child.tag in ("failure", "error", "skipped")), "passed")
        cases[(case.get("classname"), case.get("name"))] = ended
    return cases


def test_two_shards_give_the_single_run_result(tmp_path):
    """Counts, deselection, skips, the WASI-impossible list, exit code and JUnit: as one process gives them."""
    project = copy_project("srclayout", tmp_path)
    selection = ("-k", "not fails_on_purpose", "-p", "no:randomly")
    one = run_pytest(project, *selection, f"--junitxml={tmp_path / 'one.xml'}")
    two = run_pytest(project, *selection, f"--junitxml={tmp_path / 'two.xml'}", options=("-n", "2"))
    assert one.returncode == two.returncode == 0, two.stdout + two.stderr
    assert _counts(two.stdout) == _counts(one.stdout) == "4 passed, 1 skipped, 1 deselected, 2 wasi-impossible"
    assert _impossible(two.stdout) == _impossible(one.stdout) and len(_impossible(one.stdout)) == 3
    assert "shard 1/2: " in two.stdout and "shard 2/2: " in two.stdout
    assert _cases(tmp_path / "two.xml") == _cases(tmp_path / "one.xml")

    failing = run_pytest(project, "-p", "no:randomly", options=("-n", "2"))
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert _counts(failing.stdout) == "1 failed, 4 passed, 1 skipped, 2 wasi-impossible", failing.stdout


def test_ci_shards_partition_a_real_suite_balanced_by_recorded_durations(tmp_path):
    """packaging's quick modules: durations recorded once, then shard K/N per 'machine' covers each test once."""
    requirement, _, selection, _ = REGISTRY_PROJECTS["packaging-quick"]
    project = sdist_project(requirement, tmp_path)
    durations = tmp_path / "durations.json"

    def run(*options: str, junit: str, extra: tuple[str, ...] = ()):
        proc = wasi_lsp("pytest", *options, str(project), "--", "-p", "no:cacheprovider", *selection, *extra,
                        f"--junitxml={tmp_path / junit}", cwd=project, timeout=1800)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
        return proc

    full = run("--durations-path", str(durations), "-n", "2", junit="full.xml", extra=("--store-durations",))
    assert _counts(full.stdout) == "130 passed"
    recorded = json.loads(durations.read_text())
    assert len(recorded) >= 130, "every shard's durations are merged into one file"
    shards = [run("--shard", f"{k}/2", "--durations-path", str(durations), junit=f"shard{k}.xml") for k in (1, 2)]
    parts = [_cases(tmp_path / f"shard{k}.xml") for k in (1, 2)]
    assert not set(parts[0]) & set(parts[1]), "a test ran on two machines"
    assert {**parts[0], **parts[1]} == _cases(tmp_path / "full.xml")
    assert all("estimated duration" in s.stdout for s in shards)
    estimates = [float(re.search(r"estimated duration: ([\d.]+)s", s.stdout).group(1)) for s in shards]
    assert max(estimates) <= 0.75 * sum(estimates), f"shards unbalanced despite recorded durations: {estimates}"


def test_bad_shard_selection_is_one_clear_error(tmp_path):
    project = copy_project("srclayout", tmp_path)
    for options, expected in ((("--shard", "3/2"), "expected K/N with 1 <= K <= N"),
                              (("-n", "0"), "expected a number of shards"),
                              (("-n", "2", "--shard", "1/2"), "-n and --shard do not combine")):
        proc = run_pytest(project, options=options)
        assert proc.returncode == 2, proc.stderr
        assert expected in proc.stderr and "Traceback" not in proc.stderr
