"""``multiprocessing.dummy``: the thread-backed API, cooperative on WASI."""

from __future__ import annotations

from threading import Thread as Process  # noqa: F401
from threading import current_thread as current_process  # noqa: F401

from wasi_lsp_guest.cooperative.process_pool import ThreadPool

__all__ = ["Pool", "Process", "ThreadPool", "current_process"]


def Pool(processes=None, initializer=None, initargs=()):
    return ThreadPool(processes, initializer, initargs)
