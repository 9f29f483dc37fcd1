"""Which pool takes the next upload: a thin door into :mod:`pixelfox_app.placement`.

Sessions call :func:`pixelfox_app.placement.place` directly (they keep its
explanation); this keeps the older ``choose_pool`` call working for others.
"""

from __future__ import annotations

from collections.abc import Collection

from quart import current_app

from ..models import StoragePool
from ..placement import choose_pool_for


async def choose_pool(
    file_size: int, *, avoid_nodes: Collection[str] = (), local_only: bool = False
) -> StoragePool:
    """The pool for an upload of ``file_size`` bytes, or NO_STORAGE.

    ``avoid_nodes``: node ids not to use (e.g. a node that just failed the client).
    ``local_only``: only pools whose base path exists on this host (proxy uploads,
    which the app writes itself).
    """
    return await choose_pool_for(
        file_size,
        current_app.extensions["redis"],
        current_app.extensions["keys"],
        avoid_nodes=avoid_nodes,
        local_only=local_only,
    )
