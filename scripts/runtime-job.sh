#!/usr/bin/env bash
# The runtime-from-source job, separate from .ci/run because the build alone
# takes 3-8 minutes: build (or reuse) built:3.11, test the build and its
# snapshots, run the whole suite on it (the matrix's second entry: 3.11 with a
# lib layout), then the end-to-end suites with every server started from a
# Wizer snapshot.
#
# Cache $WASI_LSP_CACHE_DIR (default ~/.cache/wasi-lsp) between runs to skip
# the build when its inputs are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
scripts/build-runtime.sh
pytest tests/ -m runtime_build
pytest tests/ --wasi-runtime built:3.11
pytest tests/lsp tests/rstls tests/test_adapter.py tests/reliability --lsp-runtime wasi \
    --wasi-runtime built:3.11 --wasi-snapshot
