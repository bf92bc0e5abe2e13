"""rstls: a reStructuredText and Sphinx language server that runs inside WASI."""
