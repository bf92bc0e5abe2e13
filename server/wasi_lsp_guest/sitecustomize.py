# Copied to the top of the guest overlay, which is on PYTHONPATH, so that
# Python's site module runs it at start-up, before the user's code.
from wasi_lsp_guest.bootstrap import boot

boot()
