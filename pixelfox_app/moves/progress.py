"""A move's counters and its end: every image gets exactly one outcome, counted once.

Counters live on the ``moves`` row and grow by ``F()`` updates, so parallel
reports never lose a count. Which images already have an outcome is a Redis
hash (``RedisKeys.move_outcomes``): a job run again after a crash finds its
image there and is not counted twice. A move ends when its planner has
enqueued the last batch, done + failed + skipped reached planned, and no
replica of another pool's image is left on the source (a drain re-places
them: ``copies.replicas.replace_drained``; not for a move of chosen images):
``done`` when no image failed, else ``failed``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from redis.asyncio import Redis
from tortoise.expressions import F

from pixelfox_protocol.keys import MOVE_FINISHED_TTL, RedisKeys

from ..copies.replicas import replicas_on
from ..models import Image, Move, MoveItem, MoveItemState, MoveState, StorageNode, StoragePool
from ..nodes import node_of

log = logging.getLogger(__name__)

# States a move never leaves.
FINAL = frozenset({MoveState.DONE, MoveState.FAILED, MoveState.CANCELLED})


async def claim_outcome(
    redis: Redis, keys: RedisKeys, move_id: int, image_id: int, what: str
) -> bool:
    """True when the image had no outcome yet (the caller counts it)."""
    return bool(await redis.hsetnx(keys.move_outcomes(move_id), str(image_id), what))  # type: ignore[misc]


async def record_item(
    redis: Redis, keys: RedisKeys, move_id: int, image_id: int, state: MoveItemState, error: str
) -> bool:
    """Count a skipped or failed image once and keep its error; False when already counted."""
    if not await claim_outcome(redis, keys, move_id, image_id, str(state)):
        return False
    if not await Image.exists(id=image_id):
        # Deleted meanwhile: the item keeps the error, the image reference is gone.
        await MoveItem.create(move_id=move_id, image_id=None, state=state, error=error)
    else:
        item, created = await MoveItem.get_or_create(
            move_id=move_id,
            image_id=image_id,
            defaults={"state": state, "error": error, "attempts": 1},
        )
        if not created:
            await MoveItem.filter(id=item.id).update(
                state=state, error=error, attempts=F("attempts") + 1
            )
    column = {
        MoveItemState.FAILED: "failed",
        MoveItemState.QUARANTINED: "quarantined",
    }.get(state, "skipped")
    await Move.filter(id=move_id).update(**{column: F(column) + 1})
    await finish_if_complete(redis, keys, move_id)
    return True


async def parked_keys(keys: RedisKeys, move_id: int) -> list[str]:
    """Every node's parked set of the move (a node parks in its own key space only)."""
    nodes: set[str] = {str(n) for n in await StorageNode.all().values_list("node_id", flat=True)}
    nodes |= {node_of(pool) for pool in await StoragePool.all()}
    return [keys.node_move_parked(node_id, move_id) for node_id in sorted(nodes)]


async def set_state(redis: Redis, keys: RedisKeys, move_id: int, state: MoveState) -> None:
    """Mirror the row's state to Redis, where the node jobs look before they work."""
    key = keys.move_state(move_id)
    if state in FINAL:
        parking = await parked_keys(keys, move_id)
        async with redis.pipeline(transaction=True) as pipe:
            pipe.set(key, str(state), ex=MOVE_FINISHED_TTL)
            if parking:
                pipe.delete(*parking)
            pipe.expire(keys.move_outcomes(move_id), MOVE_FINISHED_TTL)
            await pipe.execute()
    else:
        await redis.set(key, str(state))


async def finish_if_complete(redis: Redis, keys: RedisKeys, move_id: int) -> MoveState | None:
    """End a running move whose planned images all have an outcome; returns the new state."""
    move = await Move.get_or_none(id=move_id)
    if move is None or move.state != MoveState.RUNNING or move.planned_at is None:
        return None
    if move.done + move.failed + move.skipped + move.quarantined < move.planned:
        return None
    draining = move.image_ids is None  # a move of chosen images leaves the source's replicas
    if draining and await replicas_on(move.source_id).exists():  # type: ignore[attr-defined]
        return None  # the source's replicas are re-placed first (copies.replicas)
    # Quarantined images are still on the source: a drain must not retire it as done.
    final = MoveState.FAILED if move.failed or move.quarantined else MoveState.DONE
    ended = await Move.filter(id=move_id, state=MoveState.RUNNING).update(
        state=final, finished_at=datetime.now(UTC)
    )
    if not ended:
        return None
    await set_state(redis, keys, move_id, final)
    log.info(
        "move %s %s: done=%d failed=%d skipped=%d quarantined=%d bytes=%d",
        move_id,
        final,
        move.done,
        move.failed,
        move.skipped,
        move.quarantined,
        move.bytes_moved,
    )
    return final


async def finish_drains(pool: StoragePool, redis: Redis, keys: RedisKeys) -> None:
    """A replica left ``pool``: the running move draining it may be complete now."""
    running = Move.filter(source_id=pool.id, state=MoveState.RUNNING)
    move_ids: list[int] = await running.values_list("id", flat=True)  # type: ignore[assignment]
    for move_id in move_ids:
        await finish_if_complete(redis, keys, move_id)
