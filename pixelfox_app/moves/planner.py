"""The planner: a control-queue job that enqueues a move's images a batch at a time.

``plan_move(move_id, cursor)`` (job id ``RedisKeys.move_plan_job``)
reads the next ``batch_size`` images of the source pool after image id
``cursor``, in id order, puts them as ``move_batch`` jobs of up to
``JOB_IMAGES`` images on the source node's background lane (job id
``RedisKeys.move_batch_job``: a batch already queued is not queued again, nor
counted again), advances the cursor and queues itself for
the next batch (a move of chosen images, ``Move.image_ids``, reads only
those). The last, short batch sets ``planned_at``. The first batch of a pool
move also starts re-placing the replicas the source holds of other pools' images
(``copies.repair.replace_drained``): the move ends only once none is left. A paused or
cancelled move stops planning; resume queues the planner again at the cursor.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from arq.connections import ArqRedis
from tortoise.expressions import F

from pixelfox_common.logs import new_request_id
from pixelfox_protocol.keys import RedisKeys

from ..copies.repair import replace_drained
from ..copies.throttle import RepairBudget
from ..models import Image, Move, MoveState
from ..nodequeue import enqueue_move_batch, enqueue_planner
from .progress import finish_if_complete

log = logging.getLogger(__name__)

# Images of one batch job: enough that a batch's fixed costs (its calls to the app,
# one transaction, a directory's fsync) are small per image, few enough that a
# pause, a cancel or a rerun after a kill costs seconds.
JOB_IMAGES = 200


async def enqueue_batches(
    redis: ArqRedis,
    keys: RedisKeys,
    move: Move,
    ids: list[int],
    request_id: str,
    *,
    again: bool = False,
) -> int:
    """Queue ``ids`` as batch jobs of at most ``JOB_IMAGES``; how many images were queued."""
    queued = 0
    for start in range(0, len(ids), JOB_IMAGES):
        chunk = ids[start : start + JOB_IMAGES]
        if await enqueue_move_batch(
            redis, keys, move.id, chunk, move.source, request_id, again=again
        ):
            queued += len(chunk)
    return queued


async def plan_move(ctx: dict[str, Any], move_id: int, cursor: int) -> dict[str, Any]:
    """Enqueue one batch of a move's images, then the next batch (control queue)."""
    redis: ArqRedis = ctx["redis"]
    keys: RedisKeys = ctx["keys"]
    move = await Move.get_or_none(id=move_id).select_related("source")
    if move is None or move.state != MoveState.RUNNING or move.cursor != cursor:
        # Paused, cancelled, or a stale duplicate of a batch already planned.
        return {"state": str(move.state) if move else "gone", "planned": 0}
    images = Image.filter(pool_id=move.source.id, id__gt=cursor)
    if move.image_ids is not None:
        # Chosen images only (moves.selection): those of them still on the source.
        images = images.filter(id__in=move.image_ids)
    ids: list[int] = await images.order_by("id").limit(move.batch_size).values_list("id", flat=True)  # type: ignore[assignment]
    request_id = new_request_id()
    if cursor == 0 and move.image_ids is None:
        # The replicas of other pools' images that the source holds are placed anew
        # elsewhere (as many as the repair throttle lets; the copy check does the rest).
        budget = await RepairBudget.from_knob(redis, keys)
        await replace_drained(move.source.id, redis, keys, budget)
    queued = await enqueue_batches(redis, keys, move, ids, request_id)
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
