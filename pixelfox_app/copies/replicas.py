"""The copies of one image: the primary's row, pending replicas, and the jobs that push them.

When a node reports an image's variants ready, the primary copy (the image's
own pool) becomes a verified row with the bytes of the original and every
variant, and the image gets pending copies on other nodes up to its pool's
factor (:mod:`.placement`), each pushed by a ``replicate_image`` job on the
background lane of a node holding a verified copy (the primary's, after an
upload). :func:`fill` is also what repair calls: it never removes a copy, it
only adds the missing ones, so running it twice changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import UTC, datetime

from arq.connections import ArqRedis
from redis.exceptions import LockError
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.functions import Sum
from tortoise.queryset import QuerySet

from pixelfox_protocol.keys import RedisKeys

from ..models import CopyState, Image, ImageCopy, ImageState, ImageVariant, StoragePool
from ..nodequeue import enqueue_replica
from ..nodes import node_of
from .factor import factor_of, leaving_pools
from .placement import replica_target
from .throttle import UNLIMITED, RepairBudget

log = logging.getLogger(__name__)

# Seconds a fill may hold an image's copies lock, and may wait for it.
COPIES_LOCK_TTL = 30
COPIES_LOCK_WAIT = 5


async def copy_bytes(image: Image) -> int:
    """The original's size plus all its variants'."""
    rows = await ImageVariant.filter(image_id=image.id).annotate(total=Sum("size")).values("total")
    return image.size + int((rows[0]["total"] if rows else 0) or 0)


async def record_primary(image: Image) -> ImageCopy:
    """The image's own pool as a verified copy (processing just checked its files)."""
    now = datetime.now(UTC)
    size = await copy_bytes(image)
    copy, created = await ImageCopy.get_or_create(
        image_id=image.id,
        pool_id=image.pool_id,  # type: ignore[attr-defined]
        defaults={"state": CopyState.VERIFIED, "verified_at": now, "bytes": size},
    )
    if not created and (copy.state != CopyState.VERIFIED or copy.bytes != size):
        copy.state, copy.verified_at, copy.bytes = CopyState.VERIFIED, now, size
        await copy.save(update_fields=["state", "verified_at", "bytes"])
    return copy


async def live_copies(image_id: int) -> list[ImageCopy]:
    """The copies neither lost nor being removed, pools loaded, verified first."""
    copies = await (
        ImageCopy.filter(image_id=image_id)
        .exclude(state__in=[CopyState.LOST, CopyState.REMOVING])
        .select_related("pool")
    )
    return sorted(copies, key=lambda c: (c.state != CopyState.VERIFIED, c.id))


def _source_for(image: Image, verified: list[ImageCopy]) -> StoragePool | None:
    """The primary when it is verified, else another verified copy's pool."""
    for copy in verified:
        if copy.pool.id == image.pool_id:  # type: ignore[attr-defined]
            return copy.pool
    return verified[0].pool if verified else None


def staying(image: Image, copies: list[ImageCopy], leaving: Collection[int]) -> list[ImageCopy]:
    """The copies that count towards the factor: the primary, and every other copy not on a
    pool being drained (``leaving``: those are re-placed, then removed)."""
    primary = image.pool_id  # type: ignore[attr-defined]
    return [c for c in copies if c.pool.id == primary or c.pool.id not in leaving]


async def fill(
    image: Image,
    redis: ArqRedis,
    keys: RedisKeys,
    request_id: str = "",
    *,
    again: bool = False,
    budget: RepairBudget | None = None,
) -> int:
    """Add pending copies up to the factor and queue a push for every pending one.

    One process at a time per image (a Redis lock): a node's report and the copy
    check reading the same single copy would otherwise each place a replica.
    A fill that cannot get the lock within a few seconds does nothing (the copy
    check fills the image later). Returns the number of jobs queued now.

    ``again``: a pending copy's earlier job ended (failed, gave up); queue it
    anew unless one is alive. A copy that cannot be placed (no other node with
    room) is left for a later repair: the image stays under-replicated, which
    the admin shows. ``budget``: a repair (not a fresh upload), queued only
    while the source node has room in its throttle; what does not fit is
    neither placed nor queued, and waits for the next check. Copies on a pool
    being drained do not count, and none is placed there.
    """
    if image.state != ImageState.READY or image.deleted_at is not None:
        return 0  # no new copy of an image in the trash
    lock = redis.lock(
        keys.copies_lock(image.id), timeout=COPIES_LOCK_TTL, blocking_timeout=COPIES_LOCK_WAIT
    )
    if not await lock.acquire():
        log.warning("image %s: copies being placed by another process, left to it", image.uuid)
        return 0
    try:
        return await _fill(image, redis, keys, request_id, again, budget)
    finally:
        try:
            await lock.release()
        except LockError:  # held past its TTL: another fill may have it now
            log.warning("image %s: the copies lock expired while placing", image.uuid)


async def _fill(
    image: Image,
    redis: ArqRedis,
    keys: RedisKeys,
    request_id: str,
    again: bool,
    budget: RepairBudget | None,
) -> int:
    pool = await StoragePool.get(id=image.pool_id)  # type: ignore[attr-defined]
    wanted = await factor_of(pool)
    leaving = await leaving_pools()
    copies = await live_copies(image.id)
    counted = staying(image, copies, leaving)
    verified = [c for c in copies if c.state == CopyState.VERIFIED]
    source = _source_for(image, verified)
    if source is None:
        log.warning("image %s has no verified copy to replicate from", image.uuid)
        return 0
    room = await budget.left(node_of(source)) if budget is not None else UNLIMITED
    pending = [c for c in counted if c.state == CopyState.PENDING][:room]
    missing = min(wanted - len(counted), room - len(pending))
    if missing > 0:
        pending += await _place(image, missing, counted, leaving, redis, keys)
    queued = 0
    node = node_of(source)
    for copy in pending:
        if budget is not None and await budget.holds(node, copy.id):
            continue  # its repair push is queued or running
        if budget is not None and not await budget.reserve(node, copy.id):
            break  # the node's repair slots are full: the next check goes on
        if await enqueue_replica(redis, keys, copy.id, image, source, request_id, again=again):
            queued += 1
        elif budget is not None:
            await budget.release(node, copy.id)
    if queued:
        log.info("image %s: %d replica job(s) from %s", image.uuid, queued, source.name)
    return queued


async def _place(
    image: Image,
    count: int,
    counted: list[ImageCopy],
    leaving: Collection[int],
    redis: ArqRedis,
    keys: RedisKeys,
) -> list[ImageCopy]:
    """Up to ``count`` new pending copies, each on a node holding none of ``counted``."""
    size = await copy_bytes(image)
    # A copy on its way out still holds its files: no new one on that pool meanwhile.
    removing: list[int] = await ImageCopy.filter(  # type: ignore[assignment]
        image_id=image.id, state=CopyState.REMOVING
    ).values_list("pool_id", flat=True)
    avoid = set(removing) | set(leaving)
    holders = {node_of(c.pool) for c in counted}
    placed = []
    for _ in range(count):
        target = await replica_target(redis, keys, size, holders, avoid_pools=avoid)
        if target is None:
            break
        copy, _created = await ImageCopy.get_or_create(
            image_id=image.id, pool_id=target.id, defaults={"bytes": size}
        )
        if copy.state == CopyState.LOST:  # a pool of a lost node that came back: copy anew
            copy.state, copy.verified_at = CopyState.PENDING, None
            await copy.save(update_fields=["state", "verified_at"])
        holders.add(node_of(target))
        avoid.add(target.id)
        if copy.state == CopyState.PENDING:
            placed.append(copy)
    return placed


async def after_processing(
    image: Image, redis: ArqRedis, keys: RedisKeys, request_id: str = ""
) -> int:
    """A node reported the variants: the primary's row, then the replicas (jobs queued)."""
    if image.state != ImageState.READY:
        return 0
    await record_primary(image)
    return await fill(image, redis, keys, request_id)


async def removing_on(image_id: int, pool_id: int, connection: BaseDBAsyncClient) -> bool:
    """Whether the image's copy on the pool is being removed (a move must not land there)."""
    return await (
        ImageCopy.filter(image_id=image_id, pool_id=pool_id, state=CopyState.REMOVING)
        .using_db(connection)
        .exists()
    )


async def follow_move(
    image_id: int, source: int, target: int, connection: BaseDBAsyncClient
) -> None:
    """A move switched the image to ``target`` (in its transaction): its copy goes along.

    The source copy's row becomes the target's, verified (the move verified every
    file there); if the target already held a copy, that row stays and the
    source's goes (its files are deleted by the move next).
    """
    now = datetime.now(UTC)
    there = await ImageCopy.filter(image_id=image_id, pool_id=target).using_db(connection)
    if there:
        await (
            ImageCopy.filter(id=there[0].id)
            .using_db(connection)
            .update(state=CopyState.VERIFIED, verified_at=now)
        )
        await ImageCopy.filter(image_id=image_id, pool_id=source).using_db(connection).delete()
        return
    await (
        ImageCopy.filter(image_id=image_id, pool_id=source)
        .using_db(connection)
        .update(pool_id=target, state=CopyState.VERIFIED, verified_at=now)
    )


def replicas_on(pool_id: int) -> QuerySet[ImageCopy]:
    """The copies on the pool of images whose primary is elsewhere (not lost; an image in
    the trash is left to its purge)."""
    return (
        ImageCopy.filter(pool_id=pool_id, image__deleted_at__isnull=True)
        .exclude(state=CopyState.LOST)
        .exclude(image__pool_id=pool_id)
    )
