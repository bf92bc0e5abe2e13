#!/bin/sh
# Build CPython 3.11 for wasm32-wasi from Debian's source package into the
# wasi-lsp cache (built:3.11). Skips the build when the manifest's recorded
# inputs match; CI caches $WASI_LSP_CACHE_DIR/runtimes-built between runs.
#
#   scripts/build-runtime.sh                         # build or reuse
#   scripts/build-runtime.sh --verify-reproducible   # build twice, compare hashes
#
# Needs Debian bookworm; as root it enables deb-src and installs the toolchain
# (clang lld wasi-libc libclang-rt-dev-wasm32 python3.11) itself.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
python=${WASI_LSP_PYTHON:-$here/.venv/bin/python}
[ -x "$python" ] || python=python3
exec "$python" -m wasi_lsp runtime build "$@"
