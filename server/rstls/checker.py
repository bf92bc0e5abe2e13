"""Diagnostics from docutils, parsed per section so an edit re-parses only its section.

A document is cut at its section titles; each chunk holds at most one title,
so a chunk parses on its own without title-level conflicts. Chunk results are
cached by their text, so typing in one section of a 10,000-line document
parses only that section. Checks that span the document (undefined
references and substitutions, duplicate labels) are then made over the
union of the chunks' names, which costs a set lookup per name.
"""

from __future__ import annotations

import os
import re
from collections import OrderedDict
from dataclasses import dataclass, field

from rstls.outline import ADORNMENT, Outline, normalize_name

#: Messages below this docutils level (INFO, DEBUG) are not shown.
MIN_LEVEL = 2
SEVERITY = {2: "warning", 3: "error", 4: "error"}
_QUOTED = re.compile(r'"(.+?)"')
_CACHE_SIZE = 4096


@dataclass(frozen=True)
class Problem:
    """One diagnostic, in document coordinates (0-based lines and columns)."""

    line: int
    start: int
    end: int
    message: str
    severity: str          # "error" | "warning"
    source: str = "docutils"


@dataclass
class ChunkResult:
    messages: list[tuple[int, int, str]] = field(default_factory=list)   # (level, chunk line, text)
    names: set[str] = field(default_factory=set)
    substitutions: set[str] = field(default_factory=set)
    references: list[tuple[str, str, int]] = field(default_factory=list)  # (kind, name, chunk line)


_chunk_cache: OrderedDict[tuple, ChunkResult] = OrderedDict()


_base_settings: list = []


def _settings():
    """A fresh copy of settings built once: building them costs more than parsing a small section."""
    import copy

    if not _base_settings:
        from docutils.frontend import get_default_settings
        from docutils.parsers.rst import Parser

        settings = get_default_settings(Parser)
        settings.report_level = 5
        settings.halt_level = 5
        settings.warning_stream = False
        _base_settings.append(settings)
    return copy.copy(_base_settings[0])


def parse_chunk(text: str, source: str, known: frozenset[str]) -> ChunkResult:
    """Parse one chunk with the rST parser only (no transforms), collecting messages and names."""
    key = (text, source, known)
    cached = _chunk_cache.get(key)
    if cached is not None:
        _chunk_cache.move_to_end(key)
        return cached
    from docutils import nodes
    from docutils.parsers.rst import Parser
    from docutils.utils import new_document

    document = new_document(source, _settings())
    result = ChunkResult()

    def observe(message):
        if message["level"] < MIN_LEVEL:
            return
        line = message.get("line") or 1
        text = message.children[0].astext() if message.children else ""
        if message.get("source") not in (None, source):
            # From an included file: shown on the include directive (line 0 says so), naming the place.
            text = f"{text} (in {os.path.basename(message['source'])}, line {line})"
            line = 0
        result.messages.append((message["level"], line, text))

    document.reporter.attach_observer(observe)
    try:
        Parser().parse(text, document)
    except RecursionError:  # docutils recurses once per nesting level; a few hundred levels exhaust it
        result.messages.append((3, 1, "Nesting too deep to check (lists, quotes or directives inside each other "
                                      "beyond Python's recursion limit); this section was not checked."))
    for node in document.findall(nodes.Element):
        names = node.get("names")
        if names:
            if isinstance(node, nodes.substitution_definition):
                result.substitutions.update(normalize_name(n) for n in names)
            else:
                result.names.update(normalize_name(n) for n in names)
        refname = node.get("refname")
        if refname and isinstance(node, (nodes.reference, nodes.substitution_reference)):
            kind = "substitution" if isinstance(node, nodes.substitution_reference) else "reference"
            result.references.append((kind, refname, _node_line(node)))
    _chunk_cache[key] = result
    if len(_chunk_cache) > _CACHE_SIZE:
        _chunk_cache.popitem(last=False)
    return result


def _node_line(node) -> int:
    while node is not None:
        if node.line:
            return node.line
        node = node.parent
    return 1


#: A chunk grows to at least this many lines before the next section starts a new one.
CHUNK_LINES = 120
_PREFIX_TITLE = "rstlschunkprefix"


def chunks(lines: list[str], outline: Outline) -> list[tuple[int, str]]:
    """(document line of the chunk's first line, text to parse) of each chunk, cut at section starts.

    A chunk that starts inside the section tree is parsed under synthetic
    titles for the levels above it, in the document's own title styles, so
    docutils assigns every title in the chunk the level it has in the document.
    Those prefix lines come before the chunk's first line, hence the offset.
    """
    cuts: list[tuple[int, int]] = [(0, 0)]
    for section in outline.sections:
        if section.start - cuts[-1][0] >= CHUNK_LINES:
            cuts.append((section.start, section.level))
    result = []
    for (start, level), (end, _next) in zip(cuts, [*cuts[1:], (len(lines), 0)], strict=True):
        prefix = []
        for char, overlined in outline.styles[: max(level - 1, 0)]:
            adornment = char * len(_PREFIX_TITLE)
            prefix += ([adornment] if overlined else []) + [_PREFIX_TITLE, adornment, ""]
        result.append((start - len(prefix), "\n".join(prefix + lines[start:end]) + "\n"))
    return result


def check(lines: list[str], outline: Outline, source: str, *, known_directives=frozenset(), known_roles=frozenset(),
          known_substitutions=frozenset()) -> list[Problem]:
    """All problems of a document: per-chunk parser messages plus document-wide name checks."""
    known = frozenset(known_directives) | frozenset(f":{r}:" for r in known_roles)
    problems: list[Problem] = []
    names: set[str] = set()
    substitutions: set[str] = {normalize_name(s) for s in known_substitutions}
    references: list[tuple[str, str, int]] = []
    for start, text in chunks(lines, outline):
        end = start + text.count("\n")
        result = parse_chunk(text, source, known)
        names |= result.names - {_PREFIX_TITLE}
        substitutions |= result.substitutions
        references += [(kind, name, start + line - 1) for kind, name, line in result.references]
        for level, line, message in result.messages:
            if _is_known(message, known) or message.startswith("Duplicate explicit target name"):
                continue
            at = start + line - 1 if line else _include_line(outline, start, end)
            problems.append(_locate(lines, at, message, SEVERITY.get(level, "error")))
    for kind, name, line in references:
        if kind == "substitution" and normalize_name(name) not in substitutions:
            problems.append(_find(lines, line, f"|{name}|", f'Undefined substitution referenced: "{name}".'))
        elif kind == "reference" and normalize_name(name) not in names:
            problems.append(_find(lines, line, name, f'Unknown target name: "{name}".'))
    problems += _duplicate_labels(outline)
    return sorted(problems, key=lambda p: (p.line, p.start))


def _include_line(outline: Outline, start: int, end: int) -> int:
    """The first include directive between two lines: where an included file's problems are shown."""
    for directive in outline.directives:
        if directive.name == "include" and start <= directive.line < end:
            return directive.line
    return max(start, 0)


def _is_known(message: str, known: frozenset[str]) -> bool:
    match = _QUOTED.search(message)
    if not match:
        return False
    if message.startswith("Unknown directive type"):
        return match.group(1) in known or match.group(1).lower() in known
    if message.startswith("Unknown interpreted text role"):
        return f":{match.group(1)}:" in known or f":{match.group(1).lower()}:" in known
    return False


def _duplicate_labels(outline: Outline) -> list[Problem]:
    seen: set[str] = set()
    problems = []
    for label in outline.labels:
        if label.name in seen:
            problems.append(Problem(label.line, label.start, label.end,
                                    f'Duplicate explicit target name: "{label.name}".', "warning"))
        seen.add(label.name)
    return problems


def _locate(lines: list[str], line: int, message: str, severity: str) -> Problem:
    """Narrow a docutils message (which has only a line) to the text it is about."""
    line = min(max(line, 0), len(lines) - 1) if lines else 0
    match = _QUOTED.search(message)
    if match and message.startswith("Unknown directive type"):
        return _find(lines, line, f"{match.group(1)}::", message, severity, trim=2)
    if match and message.startswith("Unknown interpreted text role"):
        return _find(lines, line, f":{match.group(1)}:", message, severity)
    if message.startswith("Title underline") and not ADORNMENT.match(lines[line]) and line + 1 < len(lines):
        line += 1
    text = lines[line] if lines else ""
    start = len(text) - len(text.lstrip())
    return Problem(line, start, max(len(text.rstrip()), start + 1), message, severity)


def _find(lines: list[str], line: int, needle: str, message: str, severity: str = "error", trim: int = 0) -> Problem:
    """The first occurrence of ``needle`` at or near ``line`` (docutils lines point into the block)."""
    for candidate in (*range(line, min(line + 50, len(lines))), *range(line - 1, max(line - 50, -1), -1)):
        column = lines[candidate].find(needle)
        if column >= 0:
            return Problem(candidate, column, column + len(needle) - trim, message, severity)
    return Problem(line, 0, max(len(lines[line]) if 0 <= line < len(lines) else 1, 1), message, severity)
