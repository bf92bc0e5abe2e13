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

# --- the optimized runtime ----------------------------------------------------------------------
# It is what every command uses by default: CPython 3.11 for WASI built from Debian's sources
# (minutes, once; skipped when its manifest's inputs match), then compiled for this machine.
# Where it cannot be built (not Debian bookworm, not root), or with WASI_LSP_SKIP_RUNTIME_BUILD=1,
# commands fall back to the slower pinned runtime and say so once.
if [ "${WASI_LSP_SKIP_RUNTIME_BUILD:-0}" = 1 ]; then
  echo "set-up: runtime build skipped (WASI_LSP_SKIP_RUNTIME_BUILD=1): commands use the pinned runtime"
elif command -v apt-get >/dev/null && [ "$(id -u)" = 0 ] && grep -qs '^VERSION_CODENAME=bookworm' /etc/os-release; then
  if .venv/bin/wasi-lsp runtime build >/dev/null && .venv/bin/wasi-lsp runtime compile --runtime built:3.11 >/dev/null; then
    echo "set-up: the default runtime is built:3.11 (wasi-lsp runtime info says which one runs, and why)"
  else
    echo "set-up: the runtime build failed (see above): commands use the slower pinned runtime. Fix: run scripts/build-runtime.sh"
  fi
else
  echo "set-up: the optimized runtime needs Debian bookworm and root (apt): commands use the slower pinned runtime. Fix: run scripts/setup.sh as root on Debian bookworm"
fi
# --- end of the optimized runtime block ----------------------------------------------------

# --- VS Code end-to-end test (tests/test_vscode.py) -----------------------------
# Debian's Chromium, driven by Playwright (which downloads no browser), VS Code OSS's web
# build and @vscode/test-web from npm, code-server 4.100.3 from npm (VS Code's Node extension
# host; its install builds native modules with g++ against Debian's Node headers and
# kerberos's against libkrb5-dev, and takes Debian's rg for @vscode/ripgrep), and
# wasm-wasi-core built from ../shared/vendor. Set-up installs only the Debian packages and
# Playwright; the test session makes the npm installs and the build on first use (minutes,
# cached under ~/.cache/wasi-lsp, one builder at a time), so the main job never waits for
# them. The .vsix ships the runtime built from source (the pinned one cannot start in VS
# Code): the runtime block above builds it.
vscode_debs=""
command -v chromium >/dev/null || vscode_debs="$vscode_debs chromium"
command -v rg >/dev/null || vscode_debs="$vscode_debs ripgrep"
[ -f /usr/include/gssapi/gssapi.h ] || vscode_debs="$vscode_debs libkrb5-dev"
command -v g++ >/dev/null && command -v make >/dev/null || vscode_debs="$vscode_debs g++ make"
if [ -n "$vscode_debs" ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq $vscode_debs >/dev/null \
    || { apt-get -o DPkg::Lock::Timeout=900 update -qq && DEBIAN_FRONTEND=noninteractive \
         apt-get -o DPkg::Lock::Timeout=900 install -y -qq $vscode_debs >/dev/null; }
fi
.venv/bin/python -c "import playwright" 2>/dev/null \
  || PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 .venv/bin/python -m pip install -q --disable-pip-version-check playwright
# --- end of the VS Code block -----------------------------------------------------------------------------------

echo "set-up done: .venv/bin/wasi-lsp $(.venv/bin/wasi-lsp --version 2>/dev/null || true)"
