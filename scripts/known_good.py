"""Print each direct dependency whose installed version differs from scripts/known-good.txt.

scripts/setup.sh runs it after installing, so a CI log says at once whether a
failure came with a release newer than the set the suite last passed with.
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

KNOWN_GOOD = Path(__file__).with_name("known-good.txt")


def pins(path: Path = KNOWN_GOOD) -> dict[str, str]:
    """``name -> version`` from the ``name==version`` lines of a constraints file."""
    out = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, pinned = line.partition("==")
            out[name.strip()] = pinned.strip()
    return out


def main() -> int:
    differ = []
    for name, pinned in sorted(pins().items()):
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = "not installed"
        if installed != pinned:
            differ.append(f"  {name} {installed} (known good: {pinned})")
    if differ:
        print("versions other than scripts/known-good.txt (set WASI_LSP_KNOWN_GOOD=1 to install those):")
        print("\n".join(differ))
    else:
        print("every direct dependency is at its scripts/known-good.txt version")
    return 0


if __name__ == "__main__":
    sys.exit(main())
