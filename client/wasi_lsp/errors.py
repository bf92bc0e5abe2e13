"""One error type for everything a user can get wrong or fix.

The CLI prints it as a single message and exits non-zero; it never shows a
traceback for these. Each error names the cause and, where there is one, the fix.
"""

from __future__ import annotations


class WasiLspError(Exception):
    """A failure the user can act on."""

    exit_code = 2

    def __init__(self, message: str, *, fix: str | None = None):
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return self.message if not self.fix else f"{self.message}\n  fix: {self.fix}"


class IntegrityError(WasiLspError):
    """A file's hash does not match the one it must have."""


class GuestLimitExceeded(WasiLspError):
    """The guest hit a limit (wall clock, memory, fuel) that the host enforces."""

    exit_code = 124


def wall_clock_exceeded(timeout: float) -> GuestLimitExceeded:
    """The one report of a fired wall-clock limit, the same on every host."""
    return GuestLimitExceeded(
        f"the guest ran past its wall-clock limit of {timeout:g} s and was stopped",
        fix="raise --timeout (or [tool.wasi-lsp] timeout) if the work is legitimate",
    )
