"""The per-node repair throttle: at most ``repair_jobs_per_node`` repair pushes queued per node.

Re-replication — the copy check filling under-replicated images, ``nodes
lost``, a drain re-placing its replicas — queues its pushes on the *source*
node's background lane, the lane a fresh upload's replica job takes too. A
dead node with a million images would put a million jobs there, ahead of
every fresh upload's. So repair queues at most N pushes per source node at a
time (the knob; 0 = no limit): the app remembers which copies it queued there
(``RedisKeys.repairs_queued``) and counts those whose job is still queued or
running. The rest wait for the next copy check, which also runs a moment after
a repair push ended (``soon``). Fresh uploads' copies are never throttled:
they are queued at once, behind at most N repair pushes.
"""

from __future__ import annotations

import logging

from arq.connections import ArqRedis

from pixelfox_protocol import jobs
from pixelfox_protocol.keys import RedisKeys

from .. import knobs
from ..models import StorageNode
from ..nodequeue import job_alive, queue_control_cron
from ..nodes import DEFAULT_NODE_ID

log = logging.getLogger(__name__)

# A copy check queued after a repair push ended waits this long, so the pushes that
# end together are answered by one check.
SOON_SECONDS = 2.0
# What a budget without a limit has left.
UNLIMITED = 1 << 30


class RepairBudget:
    """The repair pushes one pass may still queue per source node (read once a pass)."""

    def __init__(self, redis: ArqRedis, keys: RedisKeys, limit: int) -> None:
        self.redis, self.keys, self.limit = redis, keys, limit
        self._left: dict[str, int] = {}

    @classmethod
    async def from_knob(cls, redis: ArqRedis, keys: RedisKeys) -> RepairBudget:
        return cls(redis, keys, int(await knobs.get("repair_jobs_per_node")))

    async def left(self, node_id: str) -> int:
        """Pushes that may still be queued on ``node_id`` (a large number without a limit)."""
        if self.limit <= 0:
            return UNLIMITED
        if node_id not in self._left:
            self._left[node_id] = self.limit - await in_flight(self.redis, self.keys, node_id)
        return max(0, self._left[node_id])

    async def holds(self, node_id: str, copy_id: int) -> bool:
        """Whether a repair push of ``copy_id`` is queued or running on ``node_id``."""
        await self.left(node_id)  # forgets the ended ones first
        key = self.keys.repairs_queued(node_id)
        return bool(await self.redis.sismember(key, str(copy_id)))  # type: ignore[misc]

    async def reserve(self, node_id: str, copy_id: int) -> bool:
        """A slot on ``node_id`` for the push of ``copy_id``, taken before it is queued;
        False when the node is full (another pass may have taken the last one)."""
        if await self.left(node_id) <= 0:
            return False
        if self.limit <= 0:
            return True
        key = self.keys.repairs_queued(node_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.sadd(key, str(copy_id))
            pipe.scard(key)
            added, size = await pipe.execute()
        if size > self.limit:
            if added:
                await self.redis.srem(key, str(copy_id))  # type: ignore[misc]
            self._left[node_id] = 0
            return False
        self._left[node_id] -= 1
        return True

    async def release(self, node_id: str, copy_id: int) -> None:
        """The push was not queued after all (one is queued already): its slot is free."""
        if self.limit > 0:
            await self.redis.srem(self.keys.repairs_queued(node_id), str(copy_id))  # type: ignore[misc]
            self._left[node_id] = self._left.get(node_id, 0) + 1


async def in_flight(redis: ArqRedis, keys: RedisKeys, node_id: str) -> int:
    """Repair pushes queued or running on ``node_id``; ended ones are forgotten here."""
    key = keys.repairs_queued(node_id)
    queue = keys.node_background_queue(node_id)
    alive = 0
    for raw in await redis.smembers(key):  # type: ignore[misc]
        copy_id = int(raw)
        if await job_alive(redis, keys.replica_job(node_id, copy_id), queue):
            alive += 1
        else:
            await redis.srem(key, raw)  # type: ignore[misc]
    return alive


async def ended(redis: ArqRedis, keys: RedisKeys, copy_id: int) -> bool:
    """A copy was reported: if it was a repair push, its slot is free and a copy check
    comes soon (for the next ones). True when it was one."""
    nodes = {str(n) for n in await StorageNode.all().values_list("node_id", flat=True)}
    freed = False
    for node_id in sorted(nodes | {DEFAULT_NODE_ID}):
        freed |= bool(await redis.srem(keys.repairs_queued(node_id), str(copy_id)))  # type: ignore[misc]
    if freed:
        await queue_control_cron(
            redis, keys, jobs.CHECK_COPIES, keys.copy_check_soon(), defer=SOON_SECONDS
        )
    return freed
