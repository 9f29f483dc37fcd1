"""Which pools can take an upload right now, and for those that cannot, why.

A pool is eligible when it is active, an upload target and of tier ``hot``,
its node is active (not draining or retired) and not avoided by the client, the node's heartbeat is
fresh and the node is healthy (see :mod:`.health`), the pool's upload API
answered its last check (an unchecked pool counts as answering: without the
control worker, placement goes by heartbeats alone), the heartbeat reports
the pool, and its free space after this upload stays at or above its reserve.

Free space is the disk's free bytes from the heartbeat, capped by the
operator's ``capacity_bytes`` when set, minus the bytes already promised to
sessions since that heartbeat.

In proxy mode the app writes the file itself, so the node's heartbeat and
upload API do not matter: the pool's directory must exist on the app's host
and the free space is measured there, now.
"""

from __future__ import annotations

import shutil
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from pixelfox_protocol.internal import PoolHeartbeat

from ..models import NodeState, PoolTier, StorageNode, StoragePool
from ..nodes import node_of
from .explain import Verdict
from .health import FRESH_SECONDS, RECOVERY_BEATS, NodeHealth, StoredBeat


@dataclass(frozen=True)
class PoolFacts:
    """What is known of one pool at placement time."""

    pool: StoragePool
    node: StorageNode | None
    beat: StoredBeat | None = None
    health: NodeHealth | None = None
    # None: not checked; "" : answered; text: why it failed.
    reachability_error: str | None = None
    placed_bytes: int = 0


def verdict_for(pool: StoragePool) -> Verdict:
    return Verdict(
        pool_id=pool.id,
        pool=pool.name,
        node_id=node_of(pool),
        region=pool.region,
        priority=pool.priority,
        weight=pool.weight,
    )


def static_skip(
    verdict: Verdict, pool: StoragePool, node: StorageNode | None, avoid_nodes: Collection[str]
) -> bool:
    """The checks that need no Redis; True when ``verdict`` was marked skipped."""
    if not pool.is_active:
        verdict.skip("pool_inactive")
    elif not pool.is_upload_target:
        verdict.skip("not_upload_target")
    elif pool.tier != PoolTier.HOT:
        verdict.skip("not_hot", f"the pool's tier is {pool.tier}, not hot")
    elif node is not None and node.state == NodeState.RETIRED:
        verdict.skip("node_retired")
    elif node is not None and not node.is_active:
        verdict.skip("node_inactive")
    elif node is not None and node.state == NodeState.DRAINING:
        verdict.skip("node_draining")
    elif verdict.node_id in avoid_nodes:
        verdict.skip("node_avoided")
    return not verdict.eligible


def _free(pool: StoragePool, disk_free: int, used: int) -> int:
    if pool.capacity_bytes > 0:
        return min(disk_free, pool.capacity_bytes - used)
    return disk_free


def _room(verdict: Verdict, pool: StoragePool, free: int, file_size: int) -> None:
    verdict.free_after_bytes = free - file_size
    verdict.reserve_bytes = pool.reserve_bytes
    if verdict.free_after_bytes < pool.reserve_bytes:
        verdict.skip(
            "no_room",
            f"{max(0, free)} bytes free, {file_size} wanted, reserve {pool.reserve_bytes}",
        )


def judge_direct(verdict: Verdict, facts: PoolFacts, file_size: int, now: float) -> Verdict:
    """Health, reachability and room of a pool a node serves (direct mode)."""
    pool, beat, health = facts.pool, facts.beat, facts.health
    if beat is None:
        return verdict.skip("no_heartbeat")
    verdict.heartbeat_age = round(beat.age(now), 1)
    if verdict.heartbeat_age > FRESH_SECONDS:
        return verdict.skip(
            "heartbeat_stale",
            f"last heartbeat {verdict.heartbeat_age} s ago (limit {FRESH_SECONDS} s)",
        )
    if health is not None and not health.up:
        since = f"; {health.reason}" if health.reason else ""
        return verdict.skip(
            "node_recovering", f"{health.good_beats} of {RECOVERY_BEATS} healthy beats{since}"
        )
    if facts.reachability_error is not None:
        verdict.upload_api_reachable = not facts.reachability_error
        if facts.reachability_error:
            return verdict.skip("upload_api_unreachable", facts.reachability_error)
    reported: PoolHeartbeat | None = next(
        (p for p in beat.heartbeat.pools if p.pool_id == pool.id), None
    )
    if reported is None:
        return verdict.skip("pool_not_reported")
    used = reported.used_bytes + facts.placed_bytes
    capacity = pool.capacity_bytes or reported.capacity_bytes
    verdict.used_pct = 100.0 * used / capacity if capacity > 0 else 0.0
    # Bytes promised since the beat are not on the disk yet but will be.
    _room(verdict, pool, _free(pool, reported.free_bytes - facts.placed_bytes, used), file_size)
    return verdict


def local_disk(base_path: str) -> tuple[int, int] | None:
    """(free, total) of a directory on this host; None when it is not here (blocking)."""
    base = Path(base_path)
    if not base.is_dir():
        return None
    usage = shutil.disk_usage(base)
    return usage.free, usage.total


def judge_proxy(
    verdict: Verdict, pool: StoragePool, disk: tuple[int, int] | None, file_size: int
) -> Verdict:
    """Room of a pool the app writes itself (proxy mode)."""
    if disk is None:
        return verdict.skip("not_on_this_host", f"{pool.base_path} is not a directory here")
    free, total = disk
    capacity = pool.capacity_bytes or total
    verdict.used_pct = 100.0 * pool.used_bytes / capacity if capacity > 0 else 0.0
    _room(verdict, pool, _free(pool, free, pool.used_bytes), file_size)
    return verdict
