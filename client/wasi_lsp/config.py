"""``[tool.wasi-lsp]`` in a project's ``pyproject.toml``: settings instead of flags.

Recognised keys (all optional)::

    [tool.wasi-lsp]
    requirements = ["pygls>=2"]        # guest environment
    requirements-file = "wasi-requirements.txt"
    server = "my_server:server"        # what `wasi-lsp serve` runs
    runtime = "auto"                   # the default: built:3.11, else pinned; or pinned, built:3.11, a path
    host = "wasmtime"                  # wasmtime | wasmtime-cli | node
    dirs = ["docs", "data::/data:ro"]  # extra mounts, as --dir takes them
    env = { LOG_LEVEL = "debug" }      # guest environment variables
    max-memory = "512M"
    timeout = 0                        # seconds; 0 means none
    test-requirements = ["pytest"]     # for `wasi-lsp pytest`
    snapshot = "auto"                  # serve on a Wizer snapshot: auto | require | off
    preload = ["my_server"]            # what a snapshot pre-imports (default: the served module)

Flags given on the command line win over these. Relative paths are relative
to the ``pyproject.toml``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from wasi_lsp.errors import WasiLspError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

KNOWN_KEYS = {
    "requirements", "requirements-file", "server", "runtime", "runtime-sha256", "host", "dirs",
    "env", "max-memory", "timeout", "test-requirements", "publisher", "name", "display-name",
    "languages", "preload", "snapshot", "repository", "license",
}


@dataclass(frozen=True)
class ProjectConfig:
    root: Path | None = None
    table: dict = field(default_factory=dict)

    def get(self, key: str, default=None):
        return self.table.get(key, default)

    def path(self, key: str) -> Path | None:
        value = self.table.get(key)
        if value is None:
            return None
        return (self.root / value) if self.root else Path(value)


def find_pyproject(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load(start: Path | None = None) -> ProjectConfig:
    pyproject = find_pyproject((start or Path.cwd()).resolve())
    if pyproject is None:
        return ProjectConfig()
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise WasiLspError(f"cannot read {pyproject}: {error}", fix="fix the TOML syntax") from None
    table = data.get("tool", {}).get("wasi-lsp", {})
    unknown = sorted(set(table) - KNOWN_KEYS)
    if unknown:
        raise WasiLspError(
            f"{pyproject}: unknown key(s) in [tool.wasi-lsp]: {', '.join(unknown)}",
            fix=f"use only: {', '.join(sorted(KNOWN_KEYS))}",
        )
    return ProjectConfig(root=pyproject.parent, table=table)


def parse_size(text: str | int | None) -> int | None:
    """``512M``, ``2G``, ``1048576`` -> bytes."""
    if text in (None, "", 0):
        return None
    if isinstance(text, int):
        return text
    units = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    value = text.strip().upper().removesuffix("B").removesuffix("I")
    suffix = value[-1] if value and value[-1] in "KMG" else ""
    try:
        number = float(value[: len(value) - len(suffix)])
    except ValueError:
        raise WasiLspError(f"cannot read size {text!r}", fix="write it like 512M or 2G") from None
    return int(number * units[suffix])
