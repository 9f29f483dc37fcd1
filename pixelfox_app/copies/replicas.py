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
from datetime import UTC, datetime

from arq.connections import ArqRedis
from redis.exceptions import LockError
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.functions import Sum

from pixelfox_protocol.keys import RedisKeys

from ..models import CopyState, Image, ImageCopy, ImageState, ImageVariant, StoragePool
from ..nodequeue import enqueue_replica
from ..nodes import node_of
from .factor import factor_of
from .placement import replica_target

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
    """The copies not lost, pools loaded, verified first."""
    copies = await (
        ImageCopy.filter(image_id=image_id).exclude(state=CopyState.LOST).select_related("pool")
    )
    return sorted(copies, key=lambda c: (c.state != CopyState.VERIFIED, c.id))


def _source_for(image: Image, verified: list[ImageCopy]) -> StoragePool | None:
    """The primary when it is verified, else another verified copy's pool."""
    for copy in verified:
        if copy.pool.id == image.pool_id:  # type: ignore[attr-defined]
            return copy.pool
    return verified[0].pool if verified else None


async def fill(
    image: Image, redis: ArqRedis, keys: RedisKeys, request_id: str = "", *, again: bool = False
) -> int:
    """Add pending copies up to the factor and queue a push for every pending one.

    One process at a time per image (a Redis lock): a node's report and the copy
    check reading the same single copy would otherwise each place a replica.
    A fill that cannot get the lock within a few seconds does nothing (the copy
    check fills the image later). Returns the number of jobs queued now.

    ``again``: a pending copy's earlier job ended (failed, gave up); queue it
    anew unless one is alive. A copy that cannot be placed (no other node with
    room) is left for a later repair: the image stays under-replicated, which
    the admin shows.
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
        return await _fill(image, redis, keys, request_id, again=again)
    finally:
        try:
            await lock.release()
        except LockError:  # held past its TTL: another fill may have it now
            log.warning("image %s: the copies lock expired while placing", image.uuid)


async def _fill(
    image: Image, redis: ArqRedis, keys: RedisKeys, request_id: str, *, again: bool
) -> int:
    pool = await StoragePool.get(id=image.pool_id)  # type: ignore[attr-defined]
    wanted = await factor_of(pool)
    copies = await live_copies(image.id)
    verified = [c for c in copies if c.state == CopyState.VERIFIED]
    source = _source_for(image, verified)
    if source is None:
        log.warning("image %s has no verified copy to replicate from", image.uuid)
        return 0
    size = await copy_bytes(image)
    holders = {node_of(c.pool) for c in copies}
    pending = [c for c in copies if c.state == CopyState.PENDING]
    for _ in range(wanted - len(copies)):
        target = await replica_target(redis, keys, size, holders)
        if target is None:
            break
        copy, _created = await ImageCopy.get_or_create(
            image_id=image.id, pool_id=target.id, defaults={"bytes": size}
        )
        if copy.state == CopyState.LOST:  # a pool of a lost node that came back: copy anew
            copy.state, copy.verified_at = CopyState.PENDING, None
            await copy.save(update_fields=["state", "verified_at"])
        holders.add(node_of(target))
        pending.append(copy)
    queued = 0
    for copy in pending:
        queued += await enqueue_replica(
            redis, keys, copy.id, image, source, request_id, again=again
        )
    if queued:
        log.info("image %s: %d replica job(s) from %s", image.uuid, queued, source.name)
    return queued


async def after_processing(
    image: Image, redis: ArqRedis, keys: RedisKeys, request_id: str = ""
) -> int:
    """A node reported the variants: the primary's row, then the replicas (jobs queued)."""
    if image.state != ImageState.READY:
        return 0
    await record_primary(image)
    return await fill(image, redis, keys, request_id)


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
