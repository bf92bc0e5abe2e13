"""Sizes for the reliability suite: CI runs a sample, the dedicated run the full figures.

``WASI_LSP_FUZZ_CASES=10000 WASI_LSP_BURST_CHANGES=10000 WASI_LSP_SOAK_REQUESTS=20000 pytest tests/reliability -s``
is the dedicated run; the defaults keep the default run near a minute.
"""

from __future__ import annotations

import os


def size(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


FUZZ_CASES = size("WASI_LSP_FUZZ_CASES", 300)
SOAK_REQUESTS = size("WASI_LSP_SOAK_REQUESTS", 1000)
BURST_CHANGES = size("WASI_LSP_BURST_CHANGES", 2000)
