"""What a guest process is given: the one spec every host takes.

Hosts differ in how they enforce it, never in what it means. Anything not in
the spec (host environment variables, host paths) is not visible to the guest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # an annotation only: wasi_lsp.runtime builds Mounts, so importing it here would be a cycle
    from wasi_lsp.runtime import Runtime


@dataclass(frozen=True)
class Mount:
    host: Path
    guest: str
    read_only: bool = True

    def __post_init__(self) -> None:
        if not self.guest.startswith("/"):
            raise ValueError(f"guest path must be absolute: {self.guest!r}")

    def __str__(self) -> str:
        return f"{self.host}::{self.guest}{':ro' if self.read_only else ''}"


@dataclass(frozen=True)
class Limits:
    #: Maximum size of the guest's linear memory, in bytes.
    max_memory: int | None = None
    #: Wall-clock limit for the whole guest run, in seconds.
    timeout: float | None = None


@dataclass(frozen=True)
class RunSpec:
    runtime: Runtime
    #: Arguments after the interpreter name, exactly as ``python`` takes them.
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    mounts: tuple[Mount, ...] = ()
    limits: Limits = Limits()
    argv0: str = "python"

    @property
    def argv(self) -> list[str]:
        return [self.argv0, *self.args]
