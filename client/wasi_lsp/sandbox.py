"""What a guest is granted: turn user options into a :class:`RunSpec`.

Default deny. Every guest gets the runtime's stdlib and its environment
read-only, wasi-lsp's guest overlay read-only, a private scratch ``/tmp`` and
``/dev`` (holding ``null``), and nothing else unless asked with ``--dir``.
Host directories are mounted at the same absolute path in the guest, so host
paths, ``file://`` URIs and guest paths agree without translation; the one
exception is an explicit ``HOST::GUEST`` mount.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from wasi_lsp import downgrades
from wasi_lsp.env import GUEST_ENV, GUEST_SITE, GuestEnv, ensure_env
from wasi_lsp.errors import WasiLspError
from wasi_lsp.overlay import GUEST_OVERLAY, ensure_overlay
from wasi_lsp.runtime import Runtime, runtime_env, runtime_mounts
from wasi_lsp.spec import Limits, Mount, RunSpec


@dataclass
class Grants:
    """The user's requests, from flags and ``[tool.wasi-lsp]``."""

    runtime: Runtime
    requirements: list[str] = field(default_factory=list)
    dirs: list[str] = field(default_factory=list)
    env: list[str] = field(default_factory=list)
    limits: Limits = Limits()
    #: Source directories that must win over installed copies on the guest's sys.path.
    prepend: list[str] = field(default_factory=list)
    cwd: Path = field(default_factory=Path.cwd)


def parse_dir(text: str, base: Path) -> Mount:
    """``HOST[::GUEST][:ro|:rw]``; HOST relative to ``base``; GUEST defaults to HOST's absolute path."""
    read_only = False
    for suffix, flag in ((":ro", True), (":rw", False)):
        if text.endswith(suffix):
            text, read_only = text[: -len(suffix)], flag
            break
    host_text, _, guest = text.partition("::")
    host = (base / os.path.expanduser(host_text)).resolve()
    if not host.is_dir():
        raise WasiLspError(f"--dir {host_text}: {host} is not a directory", fix="mount an existing directory")
    guest = guest or host.as_posix()
    if not guest.startswith("/"):
        raise WasiLspError(f"--dir {text}: the guest path {guest!r} must be absolute")
    return Mount(host, str(PurePosixPath(guest)), read_only=read_only)


def parse_env(items: list[str]) -> dict[str, str]:
    """``NAME=VALUE`` sets; a bare ``NAME`` passes the host's value (and only that one)."""
    env: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not name:
            raise WasiLspError(f"--env {item!r}: expected NAME=VALUE or NAME")
        if sep:
            env[name] = value
        elif name in os.environ:
            env[name] = os.environ[name]
    return env


def scratch_dir(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=f"wasi-lsp-{prefix}-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def guest_path(host: Path, mounts: tuple[Mount, ...]) -> str | None:
    """The guest path of a host path, through the innermost mount that holds it."""
    host = host.resolve()
    best: tuple[int, str] | None = None
    for mount in mounts:
        try:
            rel = host.relative_to(mount.host)
        except ValueError:
            continue
        depth = len(mount.host.parts)
        if best is None or depth > best[0]:
            best = (depth, str(PurePosixPath(mount.guest, rel.as_posix())) if rel.parts else mount.guest)
    return best[1] if best else None


def translate_args(args: list[str], mounts: list[Mount], cwd: Path) -> list[str]:
    """Rewrite host paths among ``python`` arguments to guest paths.

    The script (first positional argument, when there is no ``-c``/``-m``) gets
    its directory mounted read-only if no mount holds it yet.
    """
    out: list[str] = []
    i, script_seen = 0, False
    while i < len(args):
        arg = args[i]
        if not script_seen and arg in ("-c", "-m"):
            out.extend(args[i : i + 2])
            out.extend(_paths(args[i + 2 :], mounts, cwd))
            return out
        if not script_seen and arg.startswith("-"):
            out.append(arg)
            if arg in ("-W", "-X", "--check-hash-based-pycs"):
                out.append(args[i + 1])
                i += 1
            i += 1
            continue
        if not script_seen:
            script_seen = True
            candidate = (cwd / arg)
            if candidate.is_file() and guest_path(candidate, tuple(mounts)) is None:
                mounts.append(_script_mount(candidate.resolve().parent, mounts))
        out.extend(_paths([arg], mounts, cwd))
        i += 1
    return out


#: Where a script's directory goes when its own path would cover a mount wasi-lsp makes.
GUEST_SCRIPT_DIR = "/wasi-lsp/script"


def _script_mount(directory: Path, mounts: list[Mount]) -> Mount:
    """Mount a script's directory read-only, at its own path unless that would hide
    another mount (a script in host ``/tmp`` must not replace the private scratch ``/tmp``)."""
    same = directory.as_posix()
    covers = any(m.guest == same or m.guest.startswith(same.rstrip("/") + "/") for m in mounts)
    return Mount(directory, GUEST_SCRIPT_DIR if covers else same, read_only=True)


def _paths(args: list[str], mounts: list[Mount], cwd: Path) -> list[str]:
    out = []
    for arg in args:
        candidate = cwd / arg
        translated = guest_path(candidate, tuple(mounts)) if arg and candidate.exists() else None
        out.append(translated or arg)
    return out


def build(grants: Grants, args: list[str], *, quiet: bool = False, env: GuestEnv | None = None) -> RunSpec:
    """The run's spec; unless ``quiet``, one stderr line per version the guest got older.

    ``env`` is the guest environment when the caller already built it for ``grants``.
    """
    runtime = grants.runtime
    env = env or ensure_env(grants.requirements, runtime)
    if not quiet:
        for downgrade in downgrades.of_env(env, runtime):
            print(f"wasi-lsp: {downgrade.line()}", file=sys.stderr, flush=True)
    overlay = ensure_overlay(runtime)
    dev = scratch_dir("dev")
    (dev / "null").touch()
    mounts: list[Mount] = [
        *runtime_mounts(runtime),
        Mount(env.root, GUEST_ENV, read_only=True),
        Mount(overlay, GUEST_OVERLAY, read_only=True),
        Mount(scratch_dir("tmp"), "/tmp", read_only=False),
        Mount(dev, "/dev", read_only=False),
    ]
    for text in grants.dirs:
        mounts.append(parse_dir(text, grants.cwd))
    guest_args = translate_args(list(args), mounts, grants.cwd)
    guest_env = {
        **runtime_env(runtime),
        "PYTHONPATH": GUEST_OVERLAY,
        "PYTHONDONTWRITEBYTECODE": "1",
        "WASI_LSP_SITE": GUEST_SITE,
    }
    cwd_guest = guest_path(grants.cwd, tuple(mounts))
    if cwd_guest:
        guest_env["WASI_LSP_CWD"] = cwd_guest
    if grants.prepend:
        guest_env["WASI_LSP_PREPEND"] = ":".join(grants.prepend)
    guest_env.update(parse_env(grants.env))
    return RunSpec(runtime=runtime, args=tuple(guest_args), env=guest_env, mounts=tuple(mounts), limits=grants.limits)


def describe(spec: RunSpec, host: str) -> str:
    """The capabilities a guest will have, as ``--print-capabilities`` shows them."""
    lines = [f"host: {host}", f"runtime: {spec.runtime.name}", f"argv: {spec.argv}",
             "mounts (nothing else is visible):"]
    for mount in spec.mounts:
        lines.append(f"  {mount.guest:<28} <- {mount.host}  [{'read-only' if mount.read_only else 'read-write'}]")
    lines.append("environment (nothing else is passed):")
    lines.extend(f"  {k}={v}" for k, v in sorted(spec.env.items()))
    limits = spec.limits
    lines.append(
        "limits: "
        f"memory {f'{limits.max_memory >> 20:d} MiB' if limits.max_memory else 'host default (4 GiB)'}, "
        f"wall clock {f'{limits.timeout:g} s' if limits.timeout else 'none'}"
    )
    lines.append("network: none; subprocesses: none; threads: none")
    return "\n".join(lines)
