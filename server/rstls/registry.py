"""Which directives and roles exist, and their documentation, in docutils and (if loaded) Sphinx."""

from __future__ import annotations

import importlib
import inspect
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only named in annotations: importing it (tempfile, traceback) would slow every start
    from rstls.sphinx_mode import SphinxProject


def _english():
    from docutils.parsers.rst.languages import en

    return en


def directive_names(project: SphinxProject | None) -> list[str]:
    from docutils.parsers.rst import directives

    names = set(_english().directives) | set(directives._directives)
    if project is not None:
        names |= project.directives
    return sorted(n for n in names if not n.startswith("restructuredtext-test"))


def role_names(project: SphinxProject | None) -> list[str]:
    from docutils.parsers.rst import roles

    names = set(_english().roles) | set(roles._roles)
    if project is not None:
        names |= project.roles
    return sorted(n for n in names if not n.startswith("restructuredtext-unimplemented"))


def directive_class(name: str, project: SphinxProject | None):
    """The class behind a directive name, without running it."""
    from docutils.parsers.rst import directives

    if project is not None:
        found = _from_sphinx(name, project, "directives", 0)
        if found is not None:
            return found
    canonical = _english().directives.get(name, name)
    if canonical in directives._directives:
        return directives._directives[canonical]
    if canonical in directives._directive_registry:
        module, cls = directives._directive_registry[canonical]
        return getattr(importlib.import_module(f"docutils.parsers.rst.directives.{module}"), cls, None)
    return None


def role_function(name: str, project: SphinxProject | None):
    from docutils.parsers.rst import roles

    if project is not None:
        found = _from_sphinx(name, project, "roles", 1)
        if found is not None:
            return found
    canonical = _english().roles.get(name, name)
    return roles._roles.get(canonical) or roles._role_registry.get(canonical)


def _from_sphinx(name: str, project: SphinxProject, kind: str, table: int):
    if name in project._tables[table]:
        return project._tables[table][name]
    app = project.app
    if app is None:
        return None
    domain_name, _, short = name.rpartition(":")
    for domain in app.env.domains.values():
        if domain.name == domain_name or (not domain_name and domain.name in ("std", app.config.primary_domain)):
            entry = getattr(domain, kind).get(short)
            if entry is not None:
                return entry
    return None


def options(name: str, project: SphinxProject | None) -> list[str]:
    cls = directive_class(name, project)
    return sorted(getattr(cls, "option_spec", None) or {})


def describe(obj, title: str) -> str:
    """Markdown for a hover: the title, the docstring, the options."""
    parts = [f"**{title}**"]
    target = obj if inspect.isclass(obj) or inspect.isfunction(obj) else type(obj)
    doc = inspect.getdoc(target) if obj is not None else None
    if doc and target.__module__ not in ("builtins",):
        parts.append(doc)
    if obj is not None:
        parts.append(f"Defined in `{target.__module__}.{target.__qualname__}`.")
    spec = getattr(obj, "option_spec", None)
    if spec:
        parts.append("Options: " + ", ".join(f"`:{option}:`" for option in sorted(spec)))
    return "\n\n".join(parts)
