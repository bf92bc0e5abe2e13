#!/usr/bin/env bash
# The long runtime job: set-up builds (or reuses) built:3.11, the default
# runtime; test the build and its snapshots, run the whole suite on the pinned
# runtime (the matrix's second entry: 3.12 with an embedded stdlib; .ci/run
# runs only a smoke subset on it), then the end-to-end suites with every
# server started from a Wizer snapshot.
#
# Cache $WASI_LSP_CACHE_DIR (default ~/.cache/wasi-lsp) between runs to skip
# the build when its inputs are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
scripts/build-runtime.sh
pytest tests/ -m runtime_build
pytest tests/ --wasi-runtime pinned
pytest tests/lsp tests/rstls tests/test_adapter.py tests/reliability --lsp-runtime wasi \
    --wasi-runtime built:3.11 --wasi-snapshot
