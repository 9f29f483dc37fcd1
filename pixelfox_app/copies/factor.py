"""How many copies each image of a pool wants.

A pool's ``replication_factor`` is the operator's (1..3); left empty it is the
installation's default, applied when read and never written (as the pools'
other runtime defaults, ``pixelfox_app.pools``): 2 once at least two active
storage nodes are registered, else 1. So a second node makes every
unconfigured pool ask for two copies, and repair fills them in. A pool being
drained keeps its replicas only until they are re-placed (:func:`leaving_pools`).
"""

from __future__ import annotations

from ..models import Move, MoveState, StorageNode, StoragePool
from ..models.storage import MAX_REPLICATION_FACTOR, MIN_REPLICATION_FACTOR
from ..nodes import DEFAULT_NODE_ID

MULTI_NODE_FACTOR = 2


def default_factor(storage_nodes: int) -> int:
    """The installation's default: 2 with at least two storage nodes, else 1."""
    return MULTI_NODE_FACTOR if storage_nodes >= MULTI_NODE_FACTOR else MIN_REPLICATION_FACTOR


async def storage_node_count() -> int:
    """Active registered storage nodes (the app host's own ``local`` is not one)."""
    return await StorageNode.filter(is_active=True).exclude(node_id=DEFAULT_NODE_ID).count()


def effective_factor(pool: StoragePool, storage_nodes: int) -> int:
    """The pool's own factor, else the default; always within 1..3."""
    wanted = pool.replication_factor or default_factor(storage_nodes)
    return max(MIN_REPLICATION_FACTOR, min(MAX_REPLICATION_FACTOR, wanted))


async def factor_of(pool: StoragePool) -> int:
    return effective_factor(pool, await storage_node_count())


async def leaving_pools() -> set[int]:
    """Pools being drained (the source of a running move): their replicas do not count
    towards the factor, are re-placed elsewhere, and go once the new copies are verified."""
    running = Move.filter(state=MoveState.RUNNING, image_ids__isnull=True)  # not chosen images
    rows: list[int] = await running.values_list("source_id", flat=True)  # type: ignore[assignment]
    return set(rows)
