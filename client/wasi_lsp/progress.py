"""Telling the user about a slow one-time step (a compile, a build) while it runs."""

from __future__ import annotations

import sys


def progress(message: str):
    """A spinner on an interactive stderr; one plain line otherwise."""
    from contextlib import contextmanager

    @contextmanager
    def plain():
        print(f"wasi-lsp: {message}...", file=sys.stderr, flush=True)
        yield

    if not sys.stderr.isatty():
        return plain()
    from rich.console import Console

    return Console(stderr=True).status(message, spinner="dots")
