"""Where a replica goes: the upload placement (``pixelfox_app.placement``), other nodes only.

A replica must land on a node that holds no copy of the image yet, and in
another failure domain (the nodes' ``zone``) where a healthy pool with room
exists there; otherwise on any other node. Health, free space after reserve
and weight are the upload placement's own rules: replicas and uploads are
judged alike, and a replica counts towards its pool's placed bytes.
"""

from __future__ import annotations

import logging
from collections.abc import Collection

from redis.asyncio import Redis

from pixelfox_protocol.keys import RedisKeys

from ..models import StorageNode, StoragePool
from ..placement.choose import NoEligiblePool, PlacementRequest, place

log = logging.getLogger(__name__)


async def zones_of(node_ids: Collection[str]) -> dict[str, str]:
    """node id → zone; a node without a zone is a zone of its own (its id)."""
    rows = await StorageNode.filter(node_id__in=list(node_ids)).values_list("node_id", "zone")
    zones = {node_id: node_id for node_id in node_ids}
    zones.update({node_id: zone or node_id for node_id, zone in rows})
    return zones


async def replica_target(
    redis: Redis,
    keys: RedisKeys,
    size: int,
    holders: Collection[str],
    *,
    avoid_pools: Collection[int] = (),
) -> StoragePool | None:
    """A pool for one more copy of ``size`` bytes, on a node not in ``holders``; None if none.

    First among the nodes of zones that hold no copy yet; then among every node
    that holds none. Never one of ``avoid_pools`` (drained, or removing a copy).
    """
    every = {str(n) for n in await StorageNode.all().values_list("node_id", flat=True)}
    zones = await zones_of(every | set(holders))
    taken = {zones[n] for n in holders}
    same_zone = {n for n, zone in zones.items() if zone in taken}
    for avoid in (same_zone | set(holders), set(holders)):
        try:
            placed = await place(
                PlacementRequest(
                    file_size=size,
                    avoid_nodes=frozenset(avoid),
                    avoid_pools=frozenset(avoid_pools),
                ),
                redis,
                keys,
            )
        except NoEligiblePool:
            continue
        return placed.pool
    log.warning("no pool for a replica of %d bytes (copies on %s)", size, sorted(holders))
    return None
