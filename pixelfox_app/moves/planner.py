"""The planner: a control-queue job that enqueues a move's images a batch at a time.

``plan_move(move_id, cursor)`` (job id ``RedisKeys.move_plan_job``)
reads the next ``batch_size`` images of the source pool after image id
``cursor``, in id order, puts one ``move_image`` job per image on the source
node's background lane (job id ``RedisKeys.move_job``: an image already queued is not
queued again, nor counted again), advances the cursor and queues itself for
the next batch. The last, short batch sets ``planned_at``. A paused or
cancelled move stops planning; resume queues the planner again at the cursor.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix
from tortoise.expressions import F

from pixelfox_common.logs import new_request_id
from pixelfox_protocol.keys import RedisKeys

from ..models import Image, Move, MoveState
from ..nodes import node_of
from .progress import finish_if_complete

log = logging.getLogger(__name__)

PLAN_JOB = "plan_move"
MOVE_JOB = "move_image"


async def enqueue_planner(
    redis: ArqRedis, keys: RedisKeys, move_id: int, cursor: int, *, again: bool = False
) -> None:
    """Queue the planner's batch after ``cursor``; ``again`` clears an earlier run's result."""
    job_id = keys.move_plan_job(move_id, cursor)
    if again:
        await redis.delete(result_key_prefix + job_id, job_key_prefix + job_id)
    await redis.enqueue_job(
        PLAN_JOB, move_id, cursor, _job_id=job_id, _queue_name=keys.control_queue
    )


async def plan_move(ctx: dict[str, Any], move_id: int, cursor: int) -> dict[str, Any]:
    """Enqueue one batch of a move's images, then the next batch (control queue)."""
    redis: ArqRedis = ctx["redis"]
    keys: RedisKeys = ctx["keys"]
    move = await Move.get_or_none(id=move_id).select_related("source")
    if move is None or move.state != MoveState.RUNNING or move.cursor != cursor:
        # Paused, cancelled, or a stale duplicate of a batch already planned.
        return {"state": str(move.state) if move else "gone", "planned": 0}
    ids: list[int] = await (
        Image.filter(pool_id=move.source.id, id__gt=cursor)
        .order_by("id")
        .limit(move.batch_size)
        .values_list("id", flat=True)
    )  # type: ignore[assignment]
    queue = keys.node_background_queue(node_of(move.source))
    request_id = new_request_id()
    queued = 0
    for image_id in ids:
        job = await redis.enqueue_job(
            MOVE_JOB, move.id, image_id, move.source.id, request_id,
            _job_id=keys.move_job(move.id, image_id), _queue_name=queue,
        )  # fmt: skip
        queued += job is not None
    last = len(ids) < move.batch_size
    changes: dict[str, Any] = {"planned": F("planned") + queued}
    if ids:
        changes["cursor"] = ids[-1]
    if last:
        changes["planned_at"] = datetime.now(UTC)
    # Only the run that still sees the old cursor advances it (no double counting).
    advanced = await Move.filter(id=move.id, cursor=cursor).update(**changes)
    if not advanced:
        return {"state": "stale", "planned": 0}
    if last:
        log.info("move %s planned", move.id)
        await finish_if_complete(redis, keys, move.id)
    else:
        await enqueue_planner(redis, keys, move.id, ids[-1])
    return {"state": "planned", "planned": queued, "cursor": ids[-1] if ids else cursor}
