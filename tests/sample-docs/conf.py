"""Sphinx configuration of rstls' sample docs project (drives the end-to-end suite)."""

import os
import sys

# Importing the extension must not leave __pycache__ in the (read-only in WASI) sample tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "_ext"))

project = "Sample Docs"
author = "wasi-lsp"
release = "1.0"
extensions = ["myext"]
exclude_patterns = ["_build"]
rst_epilog = """
.. |project| replace:: Sample Docs
"""
