"""rstls: a reStructuredText and Sphinx language server that runs inside WASI."""

__version__ = "0.1.0"
