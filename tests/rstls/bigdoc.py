"""A generated reStructuredText document of any size, for the latency tests and the benchmark."""

from __future__ import annotations

BLOCK = """Section {n}
{underline}

.. _label-{n}:

Paragraph {n} with *emphasis*, ``literal``, a link to :ref:`label-{prev}` and |sub|.
More text on a second line of the paragraph.

.. note::

   A note in section {n}.

- item one
- item two

"""


def big_document(lines: int) -> str:
    """About ``lines`` lines: sections with labels, refs, directives and lists; no errors."""
    parts = [".. |sub| replace:: substituted\n\nBig Document\n============\n\n"]
    count, n = 5, 0
    while count < lines:
        title = f"Section {n}"
        parts.append(BLOCK.format(n=n, prev=max(n - 1, 0), underline="-" * len(title)))
        count += BLOCK.count("\n")
        n += 1
    return "".join(parts)
