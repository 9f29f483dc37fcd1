"""One node job at a time per image: making variants and moving files between subtrees.

``process_image`` writes variants into the subtree its original is in;
``change_visibility`` renames the original and every variant into the other
subtree. Interleaved, a variant could land in the old subtree after the move
(a private image's variant served without a signature). Each job holds the
image's lock from looking at the files until its report reached the app, so
the second job sees the first one's files and the app the first one's report.
A job that finds the lock taken retries shortly (``ImageBusy``).

The lock holds the arq job id of its holder. A job killed mid-run leaves its
lock behind; when the same job runs again (after the worker's restart) it
finds its own id there and takes the lock over, instead of waiting for it
to expire behind itself.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis

from pixelfox_common.redis_cas import delete_if_holds
from pixelfox_protocol.keys import IMAGE_LOCK_TTL, RedisKeys

# Seconds a job waits before it looks at a busy image again.
BUSY_RETRY_SECONDS = 2.0


class ImageBusy(Exception):
    """Another job of this node is working on the image's files right now."""


@asynccontextmanager
async def image_lock(
    redis: Redis, keys: RedisKeys, node_id: str, image_uuid: str, job_id: str | None = None
) -> AsyncIterator[None]:
    """Hold the image's lock on node ``node_id`` for the ``with`` block; raises ImageBusy
    when another job has it."""
    key = keys.image_lock(node_id, image_uuid)
    token = job_id or secrets.token_hex(8)
    if not await redis.set(key, token, nx=True, ex=IMAGE_LOCK_TTL):
        held = await redis.get(key)
        if held is None or held.decode() != token:
            raise ImageBusy(image_uuid)
        await redis.set(key, token, ex=IMAGE_LOCK_TTL)  # our own, left by a killed run
    try:
        yield
    finally:
        # Only while it still holds our token: an expired lock taken over by another
        # job must not be released by us.
        await delete_if_holds(redis, key, token)
