"""Import hooks: serve missing stdlib modules from here, patch modules right after they load.

Patching lazily keeps start-up cheap (asyncio costs time to import inside WASI)
and lets a server import pygls or asyncio whenever it likes.
"""

from __future__ import annotations

import sys

ModuleSpec = type(sys.__spec__)

# importlib and its submodules are not imported: every guest start would pay
# for them. Finders and loaders are duck-typed; specs are the bootstrap's own.


class _AliasLoader:
    def __init__(self, target: str):
        self.target = target

    def create_module(self, spec):
        __import__(self.target)
        return sys.modules[self.target]

    def exec_module(self, module) -> None:
        pass


class _PatchingLoader:
    """Runs the real loader, then the patches registered for the module."""

    def __init__(self, loader, patches: list):
        self.loader = loader
        self.patches = patches

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        self.loader.exec_module(module)
        for patch in self.patches:
            patch(module)

    def __getattr__(self, name):
        return getattr(self.loader, name)


class _Finder:
    def __init__(self) -> None:
        self.aliases: dict[str, str] = {}
        self.patches: dict[str, list] = {}

    def find_spec(self, fullname, path=None, target=None):
        if fullname in self.aliases:
            return ModuleSpec(fullname, _AliasLoader(self.aliases[fullname]), is_package="." not in fullname)  # type: ignore[arg-type]
        if fullname not in self.patches:
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec = find(fullname, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _PatchingLoader(spec.loader, self.patches[fullname])
                return spec
        return None


_FINDER = _Finder()


def _ensure_installed() -> None:
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def provide(name: str, target: str) -> None:
    """Serve module ``target`` whenever ``name`` is imported (the stdlib's copy, if any, needs threads)."""
    _FINDER.aliases.setdefault(name, target)
    _ensure_installed()


def after_import(name: str, patch) -> None:
    """Call ``patch(module)`` once ``name`` is imported (now, if it already is)."""
    module = sys.modules.get(name)
    if module is not None:
        patch(module)
        return
    _FINDER.patches.setdefault(name, []).append(patch)
    _ensure_installed()
