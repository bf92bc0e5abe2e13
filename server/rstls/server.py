"""The rstls server that ``rstls`` serves: built at import, so a snapshot that pre-imports ``rstls.server``
holds it ready, every feature registered.

The name is part of the contract: ``wasi_lsp.overlay.GUEST_PRELOAD`` lists
``rstls.server`` as the module a snapshot of rstls pre-imports. The server
class is in ``rstls.base``, the list of features in ``rstls.features``.
"""

from __future__ import annotations

from rstls.features import create_server

server = create_server()
