"""A Sphinx extension of the sample project: one directive and one role.

rstls must offer both in completion and must not flag them as unknown.
"""

from docutils import nodes
from docutils.parsers.rst import Directive, directives


class MyNote(Directive):
    """A note with a level: ``.. mynote::`` followed by the note's text."""

    has_content = True
    option_spec = {"level": directives.positive_int, "title": directives.unchanged}

    def run(self):
        node = nodes.note("\n".join(self.content))
        self.state.nested_parse(self.content, self.content_offset, node)
        return [node]


def issue_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """Link to an issue of the tracker: ``:issue:`42```."""
    return [nodes.reference(rawtext, f"#{text}", refuri=f"https://example.invalid/issues/{text}")], []


def setup(app):
    app.add_directive("mynote", MyNote)
    app.add_role("issue", issue_role)
    return {"version": "1.0", "parallel_read_safe": True}
