"""The one list of rstls's features, and the server built from it.

Each feature module has a ``register(server)`` that adds its handlers, and
imports only ``rstls.base`` and the analysis modules, never this one or
``rstls.server``: the import graph stays a tree. A new feature goes in a
module of its own and into ``FEATURES``; tests/rstls/test_rstls_layout.py fails
for a module with a ``register`` that is not listed here.
"""

from __future__ import annotations

from types import ModuleType

from rstls import completion, diagnostics, navigation, structure
from rstls.base import RstLanguageServer

#: Every feature module, in registration order.
FEATURES: tuple[ModuleType, ...] = (diagnostics, completion, navigation, structure)


def create_server() -> RstLanguageServer:
    """A server with every feature in ``FEATURES`` registered."""
    server = RstLanguageServer()
    for feature in FEATURES:
        feature.register(server)
    return server
