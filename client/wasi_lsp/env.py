"""Guest environments: site-packages built from pure-Python wheels.

An environment is a directory laid out like a ``--home`` install::

    <env>/lib/python/   the site dir (on the guest's path; .pth files work)
    <env>/bin/          console scripts, so RECORD paths such as ../../bin/x
                        stay inside the mount and importlib.metadata works
    <env>/wasi-lsp-env.json

It is mounted read-only at :data:`GUEST_ENV`. Environments are cached by
(requirements, runtime), built in a staging directory and renamed into place,
and byte-compiled by the guest's own Python so read-only mounts start fast.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from wasi_lsp import cache
from wasi_lsp.bytecode import compile_bytecode
from wasi_lsp.errors import WasiLspError
from wasi_lsp.requirements import canonical, dependency_chain, missing_pure, native_resolution
from wasi_lsp.runtime import Runtime

GUEST_ENV = "/wasi-lsp/env"
GUEST_SITE = f"{GUEST_ENV}/lib/python"
#: Bump when the layout or build steps change, so old entries are not reused.
ENV_FORMAT = 1


@dataclass(frozen=True)
class GuestEnv:
    root: Path
    requirements: tuple[str, ...]

    @property
    def site(self) -> Path:
        return self.root / "lib" / "python"

    def metadata(self) -> dict:
        return json.loads((self.root / "wasi-lsp-env.json").read_text())

    def console_scripts(self) -> dict[str, str]:
        """``name -> module:function`` for every console script installed in the env."""
        import configparser

        scripts: dict[str, str] = {}
        for entry_points in self.site.glob("*.dist-info/entry_points.txt"):
            parser = configparser.ConfigParser(delimiters=("=",))
            parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep case
            parser.read(entry_points)
            if parser.has_section("console_scripts"):
                scripts.update({k: v.strip() for k, v in parser.items("console_scripts")})
        return scripts


def requirements_key(requirements: list[str], runtime: Runtime) -> str:
    normalized = sorted({re.sub(r"\s+", "", r) for r in requirements if r.strip()})
    return cache.digest(ENV_FORMAT, normalized, runtime.sha256(), runtime.tag)


def ensure_env(requirements: list[str], runtime: Runtime, *, quiet: bool = False) -> GuestEnv:
    """The cached environment for these requirements, built if needed."""
    key = requirements_key(requirements, runtime)
    envs = cache.cache_dir("envs")
    final = envs / key
    reqs = tuple(sorted({r.strip() for r in requirements if r.strip()}))
    cache.build_once(final, lambda: (final / "wasi-lsp-env.json").is_file(),
                     lambda: _build(reqs, runtime, envs, final, quiet=quiet),
                     f"the guest environment for {' '.join(reqs) or 'no requirements'}")
    return GuestEnv(final, reqs)


def _build(reqs: tuple[str, ...], runtime: Runtime, envs: Path, final: Path, *, quiet: bool) -> None:
    cache.sweep_partials(envs)
    if reqs and not quiet:
        print(f"wasi-lsp: building the guest environment for {' '.join(reqs)}...", file=sys.stderr, flush=True)
    with cache.staged(final, marker="wasi-lsp-env.json") as staging:
        notes = _install(list(reqs), runtime, staging, quiet=quiet)
        compile_bytecode(runtime, staging, guest_dir=GUEST_ENV)
        installed = sorted(p.name.removesuffix(".dist-info") for p in (staging / "lib/python").glob("*.dist-info"))
        cache.atomic_write_json(
            staging / "wasi-lsp-env.json",
            {
                "requirements": list(reqs),
                "runtime": runtime.name,
                "python": runtime.tag,
                "installed": installed,
                "notes": notes,
            },
        )


def pip_target_args(runtime: Runtime, target: Path) -> list[str]:
    return [
        sys.executable, "-m", "pip", "install",
        "--target", str(target),
        "--only-binary", ":all:",
        "--implementation", "py", "--abi", "none", "--platform", "any",
        "--python-version", runtime.tag,
        "--no-compile", "--disable-pip-version-check", "--no-warn-script-location",
        "--progress-bar", "off",
    ]


def _install(requirements: list[str], runtime: Runtime, staging: Path, *, quiet: bool) -> list[str]:
    """pip-install pure wheels into ``staging``, building pure wheels for what has none.

    A distribution pip cannot find as a pure wheel is looked up by a native,
    metadata-only resolution: if nothing resolves even natively, the
    requirement itself is wrong and pip's own error is shown; otherwise the
    exact version is rebuilt from its sdist without a C compiler.
    """
    import subprocess

    site = staging / "lib" / "python"
    site.mkdir(parents=True)
    notes: list[str] = []
    if not requirements:
        (staging / "bin").mkdir()
        return notes
    wheelhouse = cache.cache_dir("wheels")
    built: set[str] = set()
    while True:
        args = pip_target_args(runtime, site) + ["--find-links", str(wheelhouse), *requirements]
        proc = subprocess.run(args, capture_output=True, text=True)
        if proc.returncode == 0:
            break
        # pip lists them on stdout
        missing = [name for name in map(canonical, missing_pure(proc.stderr + proc.stdout)) if name not in built]
        if not missing:
            raise _pip_error(requirements, runtime, proc.stderr)
        report, native_stderr = native_resolution(requirements)
        if report is None:
            raise _pip_error(requirements, runtime, native_stderr)
        for name in missing:
            if name not in report["versions"]:
                raise _pip_error(requirements, runtime, proc.stderr)
            chain = dependency_chain(report["graph"], name, requirements) or [name]
            if not quiet:
                print(f"wasi-lsp: {name} has no pure wheel; building one from its sdist...", file=sys.stderr)
            _build_pure_wheel(name, report["versions"][name], chain, wheelhouse)
            built.add(name)
            notes.append(f"{name}: no pure wheel on the index; "
                         "built one from its sdist (its C accelerator is optional)")
        shutil.rmtree(site)
        site.mkdir()
    # pip --target puts scripts in <site>/bin; move them where RECORD says they are.
    scripts = site / "bin"
    if scripts.is_dir():
        scripts.rename(staging / "bin")
    else:
        (staging / "bin").mkdir()
    return notes


def _pip_error(requirements: list[str], runtime: Runtime, stderr: str) -> WasiLspError:
    """pip's own reason, without its noise (tracebacks, lists of ignored versions)."""
    lines = [line for line in stderr.splitlines() if line.startswith("ERROR") and "Ignored the following" not in line]
    detail = "\n".join(lines) or stderr.strip()[-1500:]
    return WasiLspError(
        f"pip could not install {' '.join(requirements)} for the guest (pure wheels, Python {runtime.tag}):\n{detail}",
        fix="check the requirement names and versions",
    )


def _build_pure_wheel(name: str, version: str, chain: list[str], wheelhouse: Path) -> None:
    """Build ``name==version`` from its sdist with every C compiler made to fail.

    Packages whose C accelerator is optional (MarkupSafe, PyYAML, ...) fall
    back to pure Python and produce a ``py3-none-any`` wheel; anything else
    fails here, and the error says which requirement pulled the package in.
    """
    prefix = f"{canonical(name).replace('-', '_')}-{version}-"

    def done() -> bool:
        return any(w.name.lower().startswith(prefix) and w.name.endswith("-none-any.whl")
                   for w in wheelhouse.glob("*.whl"))

    cache.build_once(wheelhouse / f"{name}-{version}", done,
                     lambda: _build_wheel(name, version, chain, wheelhouse), f"a pure wheel of {name} {version}")


def _build_wheel(name: str, version: str, chain: list[str], wheelhouse: Path) -> None:
    import subprocess

    out = Path(cache.staging_dir(wheelhouse / f"build-{name}"))
    try:
        env = dict(os.environ, CC="false", CXX="false", LDSHARED="false")
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-binary", name,
             "--disable-pip-version-check", "-w", str(out), f"{name}=={version}"],
            capture_output=True, text=True, env=env,
        )
        wheels = list(out.glob("*.whl"))
        pure = [w for w in wheels if w.name.endswith("-none-any.whl")]
        if proc.returncode != 0 or not pure:
            if proc.returncode == 0:
                why = "building its sdist gave only a platform-specific wheel (its C extension is not optional)"
            elif "No matching distribution" in proc.stderr:
                why = "it publishes neither a pure wheel nor an sdist"
            else:
                why = "its sdist needs a C compiler to build (its C extension is not optional)"
            via = f"required by: {' -> '.join(chain)}" if len(chain) > 1 else "requested directly"
            raise WasiLspError(
                f"{name} {version} has no pure-Python wheel, so it cannot run in WASI: {why}; {via}",
                fix=f"drop the requirement that pulls in {name}, "
                "or pin a version of it that ships a py3-none-any wheel",
            )
        for wheel in pure:
            os.replace(wheel, wheelhouse / wheel.name)
    finally:
        shutil.rmtree(out, ignore_errors=True)


