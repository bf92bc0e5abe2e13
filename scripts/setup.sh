#!/usr/bin/env bash
# One-time set-up on a fresh machine: system tools from Debian (when root), then a
# virtual environment with wasi-lsp and everything its tests use, from PyPI.
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  need=()
  command -v nix-instantiate >/dev/null || need+=(nix-bin)     # the nix/ flake checks
  command -v node >/dev/null || need+=(nodejs npm)             # the node host, the VS Code bundle
  command -v unshare >/dev/null || need+=(util-linux)          # read-only mounts for the wasmtime CLI host
  if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
  fi
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# What a user gets: the newest versions pyproject.toml allows. WASI_LSP_KNOWN_GOOD=1 installs the
# versions the suite last passed with instead (scripts/known-good.txt).
known_good=()
[ "${WASI_LSP_KNOWN_GOOD:-}" = 1 ] && known_good=(-c scripts/known-good.txt)
.venv/bin/python -m pip install -q --disable-pip-version-check -U pip ${known_good[@]+"${known_good[@]}"}
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]' ${known_good[@]+"${known_good[@]}"}
.venv/bin/python scripts/known_good.py
echo "set-up done: .venv/bin/wasi-lsp $(.venv/bin/wasi-lsp --version 2>/dev/null || true)"
