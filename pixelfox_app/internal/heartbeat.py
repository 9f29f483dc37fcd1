"""A node's heartbeat: the latest one lives in Redis; the database gets only facts it keeps.

The seed's regression lesson: the stats job once saved whole pool rows and
overwrote what the admin had just changed (``is_active``). Here a heartbeat
touches exactly two node columns and one pool column, with targeted updates.
"""

from __future__ import annotations

from datetime import UTC, datetime

from redis.asyncio import Redis

from pixelfox_common import metrics
from pixelfox_protocol.internal import (
    Heartbeat,
    NodeConfig,
    PoolInfo,
    UploadLimits,
    config_version,
)
from pixelfox_protocol.keys import RedisKeys

from .. import knobs
from ..models import StorageNode, StoragePool
from ..nodes import DEFAULT_NODE_ID
from ..placement.health import store_beat


async def upload_limits() -> UploadLimits:
    """The operator's knobs a node applies to uploaded bytes (SVG stays refused anyway)."""
    values = await knobs.get_all()
    return UploadLimits(
        allowed_types=[str(t) for t in values["allowed_types"]],
        max_pixels=int(values["max_pixels"]) or 1,
        max_frames=int(values["max_frames"]) or 1,
    )


async def node_config(node: StorageNode) -> NodeConfig:
    """The pools a node holds, active or not (it must still serve inactive ones),
    and the upload limits it enforces, with the digest the node acknowledges."""
    query = StoragePool.filter(node_id=node.node_id)
    if node.node_id == DEFAULT_NODE_ID:
        # The seed's default: a pool with an empty node id belongs to "local".
        query = StoragePool.filter(node_id__in=[DEFAULT_NODE_ID, ""])
    pools = await query.order_by("id")
    config = NodeConfig(
        node_id=node.node_id,
        pools=[
            PoolInfo(
                id=p.id,
                name=p.name,
                base_path=p.base_path,
                tier=str(p.tier),
                is_active=p.is_active,
                capacity_bytes=p.capacity_bytes,
                reserve_bytes=p.reserve_bytes,
                backup_bucket=p.backup_bucket,
                backup_prefix=p.backup_prefix,
            )
            for p in pools
        ],
        upload_limits=await upload_limits(),
    )
    config.version = config_version(config)
    return config


async def record_heartbeat(
    node: StorageNode, beat: Heartbeat, redis: Redis, keys: RedisKeys
) -> NodeConfig:
    """Keep the beat in Redis for HEARTBEAT_TTL, mirror used bytes, answer the config.

    The beat also counts towards the node's placement health (two healthy beats
    bring a node back; see ``pixelfox_app.placement.health``).
    """
    config = await node_config(node)
    own = {p.id: p for p in config.pools}
    await store_beat(redis, keys, beat, own)
    await StorageNode.filter(id=node.id).update(
        last_seen_at=datetime.now(UTC), version=beat.version[:32]
    )
    metrics.record_heartbeat(node.node_id)
    for pool in beat.pools:
        # A node reports only its own pools; anything else is ignored, not trusted.
        if pool.pool_id in own:
            await StoragePool.filter(id=pool.pool_id).update(used_bytes=pool.used_bytes)
            metrics.set_pool_space(
                pool.pool_id,
                free=pool.free_bytes,
                used=pool.used_bytes,
                capacity=pool.capacity_bytes,
                reserve=own[pool.pool_id].reserve_bytes,
            )
    return config
