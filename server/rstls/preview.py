"""HTML preview of one document with docutils' html5 writer (no HTTP server: WASI has no sockets).

Directives and roles that only Sphinx or the project's extensions know are
rendered generically (their content in a container, their text as literal)
instead of as errors, so a Sphinx project previews readably without a build.
"""

from __future__ import annotations

import os
from contextlib import contextmanager


@contextmanager
def _generic(directive_names, role_names, source_path: str):
    from docutils import nodes
    from docutils.parsers.rst import Directive, directives, roles

    class AnyOption(dict):
        def __missing__(self, key):
            return directives.unchanged

    class Generic(Directive):
        """Shows a directive docutils does not know: its argument, then its content."""

        has_content = True
        optional_arguments = 1
        final_argument_whitespace = True
        option_spec = AnyOption({"class": directives.class_option})  # non-empty, or docutils skips options

        def run(self):
            box = nodes.container(classes=["directive", self.name.replace(":", "-")])
            if self.name == "literalinclude" and self.arguments:
                path = os.path.join(os.path.dirname(source_path), self.arguments[0])
                try:
                    with open(path, encoding="utf-8") as handle:
                        text = handle.read()
                except OSError:
                    text = f"(cannot read {self.arguments[0]})"
                box += nodes.literal_block(text, text)
            elif self.arguments:
                box += nodes.paragraph("", "", nodes.strong(self.arguments[0], self.arguments[0]))
            if self.content:
                self.state.nested_parse(self.content, self.content_offset, box)
            return [box]

    def generic_role(name, rawtext, text, lineno, inliner, options=None, content=None):
        return [nodes.literal(rawtext, text, classes=["role", name.replace(":", "-")])], []

    saved = (dict(directives._directives), dict(roles._roles))
    try:
        for name in directive_names:
            directives._directives.setdefault(name, Generic)
        for name in role_names:
            roles._roles.setdefault(name, generic_role)
        yield
    finally:
        directives._directives.clear()
        directives._directives.update(saved[0])
        roles._roles.clear()
        roles._roles.update(saved[1])


def render(text: str, source_path: str, directive_names=(), role_names=()) -> str:
    """The document's body as HTML; problems render inline instead of aborting the preview."""
    from docutils.core import publish_parts

    with _generic(directive_names, role_names, source_path):
        parts = publish_parts(text, source_path=source_path, writer_name="html5",
                              settings_overrides={"report_level": 5, "halt_level": 5, "warning_stream": False,
                                                  "embed_stylesheet": False})
    return parts["html_body"]
