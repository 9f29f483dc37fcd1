"""Removing copies an image no longer wants: a factor lowered, a replica on a drained pool.

SeaweedFS lost data when repair deleted the wrong copy first; so here a copy is
removed only when, at that moment, the image keeps at least its factor of
*other verified* copies that stay (not being removed, not on a drained pool,
on an active pool of an active node), and never the primary (the image's own
pool). Only a factor the operator set makes copies surplus: a pool on the
installation's default loses none when the default drops (a node switched
off leaves one storage node). An image with a pending copy is
left alone until the copy is verified (or given up): while a push is under
way, nothing is removed. Of the surplus, the copy on the least healthy node
goes first (a node whose beat is stale or that is down, an inactive pool),
then one in a zone another copy is in too (the copies stay spread), then the
one on the fullest pool.

Removal is two steps, so no row points at files that are gone and no file is
deleted while a row still counts it:

1. the copy becomes ``removing`` in one transaction with the count of the
   others (the image row is locked first, so two checks, or a move switching
   the image, cannot both act on the same copies); from then on no URL points
   at it, no push reads from it, and it is not counted;
2. the node's ``purge_image`` job (the trash purge's, without the S3 backup)
   deletes that pool's files of the image and reports; the report deletes the
   row (:func:`removed`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from arq.connections import ArqRedis
from tortoise.transactions import in_transaction

from pixelfox_protocol.keys import RedisKeys

from ..models import CopyState, Image, ImageCopy, ImageState, StorageNode, StoragePool
from ..nodequeue import enqueue_purge
from ..nodes import node_of
from ..placement.health import FRESH_SECONDS, read_nodes
from .factor import factor_of, leaving_pools
from .placement import zones_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Standing:
    """What decides which copy goes first: its node's health, whether another copy is in
    its zone, its pool's fullness."""

    copy_id: int
    healthy: bool
    used_pct: float
    shares_zone: bool = False


def removal_order(standings: Iterable[Standing]) -> list[int]:
    """Copy ids, the one to remove first first: unhealthy before healthy, a zone's second
    copy before a zone's only one, fuller before emptier, the newer copy before the older."""
    ordered = sorted(
        standings, key=lambda s: (s.healthy, not s.shares_zone, -s.used_pct, -s.copy_id)
    )
    return [s.copy_id for s in ordered]


async def _standings(
    copies: list[ImageCopy], every: list[ImageCopy], redis: ArqRedis, keys: RedisKeys
) -> list[Standing]:
    """``copies``' standings among ``every`` copy that stays (the primary's included)."""
    nodes = {node_of(c.pool) for c in every}
    beats = await read_nodes(redis, keys, nodes)
    zones = await zones_of(nodes)
    active = {
        str(n)
        for n in await StorageNode.filter(node_id__in=list(nodes), is_active=True).values_list(
            "node_id", flat=True
        )
    }
    now = time.time()
    standings = []
    for copy in copies:
        beat, health = beats.get(node_of(copy.pool), (None, None))
        fresh = beat is not None and beat.age(now) <= FRESH_SECONDS
        healthy = (
            fresh
            and health is not None
            and health.up
            and copy.pool.is_active
            and node_of(copy.pool) in active
        )
        used = 0.0
        if beat is not None:
            used = next(
                (p.used_pct for p in beat.heartbeat.pools if p.pool_id == copy.pool.id), 0.0
            )
        zone = zones[node_of(copy.pool)]
        shared = any(zones[node_of(c.pool)] == zone for c in every if c.id != copy.id)
        standings.append(Standing(copy.id, bool(healthy), used, shared))
    return standings


async def trim(
    image: Image, redis: ArqRedis, keys: RedisKeys, *, leaving: Collection[int] | None = None
) -> int:
    """Start removing the copies ``image`` has beyond its factor; returns how many.

    Copies on ``leaving`` pools (being drained; read from the moves when None)
    are surplus whatever the count: a verified one goes once enough others are
    verified, a pending one at once (it is nobody's source and never counted;
    its push is not queued again).
    """
    if (
        image.state != ImageState.READY
        or image.deleted_at is not None
        or image.visibility_target is not None
    ):
        return 0
    leaving = await leaving_pools() if leaving is None else set(leaving)
    copies = await (
        ImageCopy.filter(image_id=image.id)
        .exclude(state__in=[CopyState.LOST, CopyState.REMOVING])
        .select_related("pool")
    )
    primary = image.pool_id
    others = [c for c in copies if c.pool.id != primary]
    drained = [c for c in others if c.pool.id in leaving]
    staying = [c for c in copies if c not in drained]
    by_id = {c.id: c for c in copies}
    chosen = [c.id for c in drained if c.state == CopyState.PENDING]
    if not any(c.state == CopyState.PENDING for c in staying):
        # No push under way to a copy that stays: nothing verified goes before it is.
        pool = await StoragePool.get(id=primary)
        wanted = await factor_of(pool)
        chosen += [c.id for c in drained if c.state == CopyState.VERIFIED]
        kept = [c for c in staying if c.pool.id != primary]
        # Only the operator's own lower factor makes copies surplus: the default drops
        # when a node is switched off, and its copies must not go for that.
        extra = len(staying) - wanted if pool.replication_factor else 0
        if extra > 0:
            chosen += removal_order(await _standings(kept, staying, redis, keys))[:extra]
    else:
        wanted = 0  # only pending drained copies go now
    started = 0
    for copy_id in chosen:
        copy = by_id[copy_id]
        if await _start_removing(image, copy, wanted, leaving):
            await enqueue_purge(redis, keys, image, copy.pool, backup=False)
            log.info(
                "copy %s of image %s on pool %s: surplus, removing", copy.id, image.uuid, copy.pool
            )
            started += 1
    return started


async def _start_removing(
    image: Image, copy: ImageCopy, wanted: int, leaving: Collection[int]
) -> bool:
    """Mark ``copy`` removing if the image keeps ``wanted`` other verified copies that stay
    (a pending copy: whatever the others)."""
    primary = image.pool_id  # type: ignore[attr-defined]
    async with in_transaction() as connection:
        # Locks the image row: a move's switch or another check waits for this decision.
        still = (
            await Image.filter(
                id=image.id, pool_id=primary, deleted_at=None, visibility_target=None
            )
            .using_db(connection)
            .update(pool_id=primary)
        )
        if not still or copy.pool.id == primary:
            return False
        rows = (
            await ImageCopy.filter(image_id=image.id, state=CopyState.VERIFIED)
            .exclude(id=copy.id)
            .using_db(connection)
            .select_related("pool")
        )
        off = await _switched_off({node_of(c.pool) for c in rows})
        others = [
            c
            for c in rows
            if (c.pool.id == primary or c.pool.id not in leaving)
            and c.pool.is_active
            and node_of(c.pool) not in off
        ]
        if copy.state == CopyState.VERIFIED and len(others) < wanted:
            return False
        changed = (
            await ImageCopy.filter(id=copy.id, state=copy.state)
            .using_db(connection)
            .update(state=CopyState.REMOVING)
        )
        return bool(changed)


async def _switched_off(node_ids: Collection[str]) -> set[str]:
    """The nodes among ``node_ids`` an operator switched off (or declared lost)."""
    rows = await StorageNode.filter(node_id__in=list(node_ids), is_active=False).values_list(
        "node_id", flat=True
    )
    return {str(n) for n in rows}


async def removed(image: Image, pool: StoragePool) -> bool:
    """The node deleted the files of a removing copy on ``pool``: its row goes now.

    False when there is no such copy (the report was about something else).
    """
    if pool.id == image.pool_id:  # type: ignore[attr-defined]
        return False
    deleted = await ImageCopy.filter(
        image_id=image.id, pool_id=pool.id, state=CopyState.REMOVING
    ).delete()
    if deleted:
        log.info("copy of image %s on pool %s removed", image.uuid, pool.name)
    return bool(deleted)


async def purge_again(redis: ArqRedis, keys: RedisKeys, limit: int) -> int:
    """Queue again the purge of removing copies whose job is gone (a node was down, a job
    gave up); a live job is left alone. Returns how many were queued."""
    queued = 0
    removing = ImageCopy.filter(state=CopyState.REMOVING).select_related("image", "pool")
    for copy in await removing.order_by("id").limit(limit):
        queued += await enqueue_purge(redis, keys, copy.image, copy.pool, backup=False)
    return queued
