"""Which copy the URLs the app hands out point at: a verified one on a node that is alive.

The primary (the image's own pool) serves while its node's heartbeat is
fresh. Once that beat is older than ``READ_FRESH_SECONDS`` (a node that went
quiet), the URLs point at another verified copy whose node still beats; when
none does, they stay on the primary (a single-node installation, or every
node quiet: nothing better is known). One Redis round trip per answer,
however many images it shows.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from redis.asyncio import Redis

from pixelfox_protocol.keys import RedisKeys

from ..models import CopyState, Image, ImageCopy, StoragePool
from ..nodes import node_of
from ..placement.health import FRESH_SECONDS, read_nodes

# Beats come every 5 s: a node quiet for this long serves no new URL (within 15 s).
READ_FRESH_SECONDS = FRESH_SECONDS


async def alive_nodes(redis: Redis, keys: RedisKeys, node_ids: Iterable[str]) -> set[str]:
    """The nodes among ``node_ids`` whose latest heartbeat is fresh."""
    now = time.time()
    beats = await read_nodes(redis, keys, node_ids)
    return {
        node_id
        for node_id, (beat, _health) in beats.items()
        if beat is not None and beat.age(now) <= READ_FRESH_SECONDS
    }


async def serving_pools(
    images: list[Image], redis: Redis, keys: RedisKeys
) -> dict[int, StoragePool]:
    """image id → the pool its URLs point at, for images whose pool is loaded."""
    chosen = {image.id: image.pool for image in images}
    if not images:
        return chosen
    primaries = {node_of(image.pool) for image in images}
    alive = await alive_nodes(redis, keys, primaries)
    quiet = [image for image in images if node_of(image.pool) not in alive]
    if not quiet:
        return chosen
    others = await ImageCopy.filter(
        image_id__in=[image.id for image in quiet], state=CopyState.VERIFIED
    ).select_related("pool")
    alive |= await alive_nodes(redis, keys, {node_of(c.pool) for c in others} - primaries)
    for copy in sorted(others, key=lambda c: c.id):
        image_id = copy.image_id  # type: ignore[attr-defined]
        here, there = node_of(chosen[image_id]), node_of(copy.pool)
        if here not in alive and there in alive and copy.pool.is_active:
            chosen[image_id] = copy.pool
    return chosen


async def serving_pool(image: Image, redis: Redis, keys: RedisKeys) -> StoragePool:
    return (await serving_pools([image], redis, keys))[image.id]


def file_pool(file_pool: StoragePool, image: Image, serving: StoragePool | None) -> StoragePool:
    """The pool a file of ``image`` is served from: the serving copy's, when the file is
    on the primary (a variant left on another pool by a running move stays there)."""
    if serving is None or file_pool.id != image.pool.id:
        return file_pool
    return serving
