"""HTML preview of one document with docutils' html5 writer (no HTTP server: WASI has no sockets)."""

from __future__ import annotations


def render(text: str, source_path: str) -> str:
    """The document's body as HTML; problems render inline instead of aborting the preview."""
    from docutils.core import publish_parts

    parts = publish_parts(text, source_path=source_path, writer_name="html5",
                          settings_overrides={"report_level": 5, "halt_level": 5, "warning_stream": False,
                                              "embed_stylesheet": False, "file_insertion_enabled": True})
    return parts["html_body"]
