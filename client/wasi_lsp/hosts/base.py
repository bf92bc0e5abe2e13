"""The interface every WASI host implements.

A host turns a :class:`~wasi_lsp.spec.RunSpec` into a running guest whose
stdin, stdout and stderr are this process's own, and returns the guest's exit
code. Limits a host cannot enforce are refused up front, never ignored.
"""

from __future__ import annotations

from typing import Protocol

from wasi_lsp.spec import RunSpec


class Host(Protocol):
    name: str

    def unavailable_reason(self) -> str | None:
        """Why this host cannot run here (with the fix), or ``None`` when it can."""

    def run(self, spec: RunSpec) -> int:
        """Run the guest with inherited stdio until it exits; return its exit code."""
