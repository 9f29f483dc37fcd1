"""A pool's and a node's health as the admin (and ``pixelfox pools list``) shows it, read
from the heartbeats in Redis.

Nodes beat every few seconds; the app keeps the latest beat per node with a
TTL (``RedisKeys.node_heartbeat``), and the control worker records whether a
pool's upload API answered (``RedisKeys.pool_reachable``). The badge:

* "API OK"  — fresh beat and the upload API answered (or was not checked yet);
* "stale N s" — the last beat is older than ``STALE_AFTER`` but still kept;
* "Fehler"  — no beat at all (node stopped or gone) or the upload API failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from redis.asyncio import Redis

from pixelfox_protocol.internal import Heartbeat, PoolHeartbeat
from pixelfox_protocol.keys import RedisKeys

from .models import StoragePool
from .nodes import node_of
from .placement.health import FRESH_SECONDS, StoredBeat, reachability_failed

# Placement's own rule: a badge never says "API OK" for a pool placement skips as stale.
STALE_AFTER = FRESH_SECONDS

State = Literal["ok", "stale", "error"]


@dataclass(frozen=True)
class NodeBeat:
    """The latest heartbeat of a node and how old it is."""

    node_id: str
    heartbeat: Heartbeat | None
    age: float | None

    def pool(self, pool_id: int) -> PoolHeartbeat | None:
        if self.heartbeat is None:
            return None
        return next((p for p in self.heartbeat.pools if p.pool_id == pool_id), None)


@dataclass(frozen=True)
class PoolHealth:
    state: State
    label: str
    reason: str
    age: float | None = None
    used_bytes: int = 0
    free_bytes: int | None = None
    capacity_bytes: int = 0
    used_pct: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


async def read_beats(redis: Redis, keys: RedisKeys, node_ids: list[str]) -> dict[str, NodeBeat]:
    """The latest heartbeat of each node (None where it expired or never came)."""
    ids = sorted(set(node_ids))
    if not ids:
        return {}
    async with redis.pipeline(transaction=False) as pipe:
        for node_id in ids:
            pipe.get(keys.node_heartbeat(node_id))
            pipe.ttl(keys.node_heartbeat(node_id))
        replies = await pipe.execute()
    beats: dict[str, NodeBeat] = {}
    for i, node_id in enumerate(ids):
        raw, ttl = replies[2 * i], replies[2 * i + 1]
        beats[node_id] = _node_beat(node_id, raw, ttl)
    return beats


def _node_beat(node_id: str, raw: bytes | None, ttl: int | None) -> NodeBeat:
    stored = StoredBeat.parse(raw, ttl)
    if stored is None:
        return NodeBeat(node_id, None, None)
    return NodeBeat(node_id, stored.heartbeat, stored.age())


def _reachable(raw: bytes | None) -> bool | None:
    return None if raw is None else reachability_failed(raw) is None


async def read_reachability(
    redis: Redis, keys: RedisKeys, pool_ids: list[int]
) -> dict[int, bool | None]:
    if not pool_ids:
        return {}
    values = await redis.mget([keys.pool_reachable(pid) for pid in pool_ids])
    return {pid: _reachable(v) for pid, v in zip(pool_ids, values, strict=True)}


def pool_health(pool: StoragePool, beat: NodeBeat | None, reachable: bool | None) -> PoolHealth:
    """The badge of one pool from its node's beat and its upload API check."""
    pool_beat = beat.pool(pool.id) if beat is not None else None
    usage: dict[str, Any] = {"used_bytes": pool.used_bytes, "capacity_bytes": pool.capacity_bytes}
    if pool_beat is not None:
        usage = {
            "used_bytes": pool_beat.used_bytes,
            "free_bytes": pool_beat.free_bytes,
            "capacity_bytes": pool_beat.capacity_bytes,
            "used_pct": pool_beat.used_pct,
        }
    elif pool.capacity_bytes:
        usage["used_pct"] = 100.0 * pool.used_bytes / pool.capacity_bytes
    if beat is None or beat.heartbeat is None:
        return PoolHealth("error", "Fehler", f"no heartbeat from {node_of(pool)}", **usage)
    if reachable is False:
        return PoolHealth("error", "Fehler", "the upload API did not answer", beat.age, **usage)
    if beat.age is not None and beat.age > STALE_AFTER:
        return PoolHealth(
            "stale", f"stale {int(beat.age)} s", "heartbeat is late", beat.age, **usage
        )
    if pool_beat is None:
        return PoolHealth(
            "stale", "not reported", "node does not report this pool", beat.age, **usage
        )
    return PoolHealth("ok", "API OK", "heartbeat fresh, upload API answers", beat.age, **usage)


async def pools_health(
    redis: Redis, keys: RedisKeys, pools: list[StoragePool]
) -> dict[int, PoolHealth]:
    """The badge of every pool in ``pools`` (two Redis round trips in all)."""
    beats = await read_beats(redis, keys, [node_of(p) for p in pools])
    reach = await read_reachability(redis, keys, [p.id for p in pools])
    return {p.id: pool_health(p, beats.get(node_of(p)), reach.get(p.id)) for p in pools}
