"""Starting, pausing, resuming and cancelling a move; the admin API and the CLI call these.

A move's row is the truth; its state is mirrored to Redis (``move_state``),
which the node jobs read before they touch a file, so pause and cancel take
effect within one job's time. Pause parks the images whose jobs come up
meanwhile (each node in its own ``node_move_parked`` set); resume sets ``running``
and takes every node's parked set in one step (the app's Lua script) and queues
them again.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from arq.connections import ArqRedis
from tortoise.expressions import F
from tortoise.functions import Count, Sum
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from pixelfox_common.logs import new_request_id
from pixelfox_protocol.errors import APIError
from pixelfox_protocol.keys import RedisKeys

from ..models import (
    Image,
    ImageVariant,
    Move,
    MoveItem,
    MoveItemState,
    MoveState,
    StorageNode,
    StoragePool,
)
from ..nodequeue import enqueue_planner
from ..nodes import node_of
from ..placement import NoEligiblePool, PlacementRequest, place
from ..placement.eligibility import PoolFacts, judge_direct, verdict_for
from ..placement.explain import Verdict
from ..placement.health import reachability_failed, read_nodes
from .planner import enqueue_batches
from .progress import FINAL, finish_if_complete, parked_keys, set_state
from .throttle import Throttle

log = logging.getLogger(__name__)

DEFAULT_BATCH = 200
# Pops the parked images while it sets the state, so a job parking at this very
# moment is either popped here or sees "running" and works.
# KEYS[1] is the state, the others every node's parked set (the app's own script:
# nodes run no scripts).
_RESUME = """
redis.call('SET', KEYS[1], 'running')
local parked = {}
for i = 2, #KEYS do
  for _, image in ipairs(redis.call('SMEMBERS', KEYS[i])) do table.insert(parked, image) end
  redis.call('DEL', KEYS[i])
end
return parked
"""


async def find_pool(ref: str | int) -> StoragePool:
    """A pool by id or by name; NOT_FOUND."""
    text = str(ref).strip()
    pool = await StoragePool.get_or_none(id=int(text)) if text.isdigit() else None
    pool = pool or await StoragePool.get_or_none(name=text)
    if pool is None:
        raise APIError("NOT_FOUND", f"There is no pool {text!r}.")
    return pool


async def totals(images: QuerySet[Image], variants: QuerySet[ImageVariant]) -> tuple[int, int, int]:
    """(images, bytes of their originals, bytes of the variants), as the database knows them."""
    row = await images.annotate(n=Count("id"), total=Sum("size")).values("n", "total")
    vrow = await variants.annotate(total=Sum("size")).values("total")
    count = int((row[0]["n"] if row else 0) or 0)
    originals = int((row[0]["total"] if row else 0) or 0)
    return count, originals, int((vrow[0]["total"] if vrow else 0) or 0)


async def pool_totals(pool: StoragePool) -> tuple[int, int, int]:
    """:func:`totals` of what the pool holds."""
    return await totals(Image.filter(pool_id=pool.id), ImageVariant.filter(pool_id=pool.id))


async def bytes_on(pool: StoragePool) -> int:
    """Bytes of the originals and variants the pool holds, as the database knows them."""
    _, originals, variants = await pool_totals(pool)
    return originals + variants


async def check_target(target: StoragePool, needed: int, redis: ArqRedis, keys: RedisKeys) -> None:
    """The target must be active, its node healthy and reachable, with room for ``needed``.

    The same facts placement uses (heartbeat, node health, upload API check,
    free space above the reserve); upload-target and tier do not matter here.
    """
    verdict = await judge_target(target, needed, redis, keys)
    if verdict.eligible:
        return
    details = {"pool": target.name, "reason": verdict.reason, "detail": verdict.detail}
    if verdict.reason == "no_room":
        raise APIError("STORAGE_FULL", details={**details, "needed_bytes": needed})
    raise APIError("MOVE_TARGET_UNAVAILABLE", details=details)


async def judge_target(
    target: StoragePool, needed: int, redis: ArqRedis, keys: RedisKeys
) -> Verdict:
    """Placement's verdict on the target for ``needed`` bytes (the first failing fact)."""
    node = await StorageNode.get_or_none(node_id=node_of(target))
    verdict = verdict_for(target)
    if not target.is_active:
        verdict.skip("pool_inactive")
    elif node is not None and not node.is_active:
        verdict.skip("node_inactive")
    else:
        beat, health = (await read_nodes(redis, keys, [node_of(target)]))[node_of(target)]
        reach, placed = await redis.mget(
            [keys.pool_reachable(target.id), keys.pool_placed_bytes(target.id)]
        )
        facts = PoolFacts(
            pool=target,
            node=node,
            beat=beat,
            health=health,
            reachability_error=None if reach is None else (reachability_failed(reach) or ""),
            placed_bytes=int(placed or 0),
        )
        judge_direct(verdict, facts, needed, time.time())
    return verdict


async def choose_target(source: StoragePool, redis: ArqRedis, keys: RedisKeys) -> StoragePool:
    """The pool placement would give the source's bytes, on any node but the source's.

    Draining a node without naming a target: the same rules as an upload (a
    healthy hot upload target with room above its reserve, by the operator's
    strategy), so the images land where new uploads would.
    """
    request = PlacementRequest(await bytes_on(source), frozenset({node_of(source)}))
    try:
        return (await place(request, redis, keys)).pool
    except NoEligiblePool as refused:
        raise APIError(
            "MOVE_TARGET_UNAVAILABLE",
            f"No pool on another node can take the images of {source.name!r}.",
            details={"placement": refused.explanation.summary()},
        ) from refused


async def unfinished_move(source_ref: str | int) -> Move | None:
    """The source pool's move that has not ended yet, if any."""
    source = await find_pool(source_ref)
    return (
        await Move.filter(source_id=source.id)
        .exclude(state__in=list(FINAL))
        .select_related("source", "target")
        .first()
    )


async def start_move(
    source_ref: str | int,
    target_ref: str | int | None,
    redis: ArqRedis,
    keys: RedisKeys,
    *,
    requested_by: str = "",
    batch_size: int = DEFAULT_BATCH,
    throttle: Throttle | None = None,
) -> Move:
    """Check the pools (the plan's preflight), create the move and queue its planner.

    Without ``target_ref`` the target is chosen like an upload's pool
    (:func:`choose_target`). The source leaves placement (no new uploads; reads
    and deletes go on). Outside its time window the move starts paused, and the
    window's opening starts it.
    """
    throttle = throttle or Throttle()
    source = await find_pool(source_ref)
    if target_ref is None or str(target_ref).strip() == "":
        target = await choose_target(source, redis, keys)
    else:
        target = await find_pool(target_ref)
    if source.id == target.id:
        raise APIError("MOVE_SAME_POOL")
    if not 1 <= batch_size <= 10_000:
        raise APIError("VALIDATION_ERROR", "batch_size must be between 1 and 10000.")
    busy = await Move.filter(source_id=source.id).exclude(state__in=list(FINAL)).first()
    if busy is not None:
        raise APIError("MOVE_RUNNING", details={"move_id": busy.id})
    await check_target(target, await bytes_on(source), redis, keys)
    if source.is_upload_target:
        await StoragePool.filter(id=source.id).update(is_upload_target=False)
        log.info("pool %s leaves placement: its images move to %s", source.name, target.name)
    waiting = not throttle.inside()
    state = MoveState.PAUSED if waiting else MoveState.RUNNING
    move = await Move.create(
        source=source,
        target=target,
        state=state,
        batch_size=batch_size,
        requested_by=requested_by[:64],
        started_at=datetime.now(UTC),
        paused_by_window=waiting,
        **throttle.columns(),
    )
    await set_state(redis, keys, move.id, state)
    if not waiting:
        await enqueue_planner(redis, keys, move.id, 0)
    log.info("move %s %s: %s → %s by %s", move.id, state, source.name, target.name, requested_by)
    return move


async def set_throttle(move_id: int, throttle: Throttle, redis: ArqRedis, keys: RedisKeys) -> Move:
    """Change a move's throttle; the node's next batch goes by it, a window acts at once."""
    move = await _get(move_id)
    if move.state in FINAL:
        raise APIError("MOVE_STATE", details={"state": str(move.state)})
    await Move.filter(id=move.id).update(**throttle.columns())
    log.info("move %s throttle: %s", move.id, throttle.model_dump())
    inside = throttle.inside()
    if move.state == MoveState.RUNNING and not inside:
        return await pause_move(move.id, redis, keys, by_window=True)
    if move.state == MoveState.PAUSED and move.paused_by_window and inside:
        return await resume_move(move.id, redis, keys)
    return await _get(move_id)


async def _get(move_id: int) -> Move:
    move = await Move.get_or_none(id=move_id).select_related("source", "target")
    if move is None:
        raise APIError("NOT_FOUND")
    return move


async def pause_move(
    move_id: int, redis: ArqRedis, keys: RedisKeys, *, by_window: bool = False
) -> Move:
    """Stop planning and copying; the batch being copied right now finishes.

    ``by_window``: the move's time window closed (its opening resumes the move);
    an operator's pause of a move the window paused makes it the operator's.
    """
    move = await _get(move_id)
    if move.state == MoveState.PAUSED:
        if move.paused_by_window and not by_window:
            await Move.filter(id=move.id).update(paused_by_window=False)
            return await _get(move_id)
        return move
    running = Move.filter(id=move.id, state=MoveState.RUNNING)
    if not await running.update(state=MoveState.PAUSED, paused_by_window=by_window):
        raise APIError("MOVE_STATE", details={"state": str(move.state)})
    await set_state(redis, keys, move.id, MoveState.PAUSED)
    log.info("move %s paused", move.id)
    return await _get(move_id)


async def resume_move(move_id: int, redis: ArqRedis, keys: RedisKeys) -> Move:
    """Queue the parked images again, and the planner if it had not finished."""
    move = await _get(move_id)
    if move.state == MoveState.RUNNING:
        return move
    paused = Move.filter(id=move.id, state=MoveState.PAUSED)
    if not await paused.update(state=MoveState.RUNNING, paused_by_window=False):
        raise APIError("MOVE_STATE", details={"state": str(move.state)})
    parking = await parked_keys(keys, move.id)
    parked = await redis.eval(  # type: ignore[misc]
        _RESUME, 1 + len(parking), keys.move_state(move.id), *parking
    )
    ids = sorted(int(raw) for raw in parked)
    await enqueue_batches(redis, keys, move, ids, new_request_id(), again=True)
    if move.planned_at is None:
        await enqueue_planner(redis, keys, move.id, move.cursor, again=True)
    log.info("move %s resumed (%d parked images queued again)", move.id, len(parked))
    await finish_if_complete(redis, keys, move.id)
    return await _get(move_id)


async def cancel_move(move_id: int, redis: ArqRedis, keys: RedisKeys) -> Move:
    """Stop for good. Images already moved stay moved; the others stay on the source."""
    move = await _get(move_id)
    if move.state == MoveState.CANCELLED:
        return move
    ended = await Move.filter(id=move.id, state__in=[MoveState.RUNNING, MoveState.PAUSED]).update(
        state=MoveState.CANCELLED, finished_at=datetime.now(UTC)
    )
    if not ended:
        raise APIError("MOVE_STATE", details={"state": str(move.state)})
    await set_state(redis, keys, move.id, MoveState.CANCELLED)
    log.info("move %s cancelled", move.id)
    return await _get(move_id)


async def retry_move(move_id: int, redis: ArqRedis, keys: RedisKeys) -> Move:
    """ "Retry these": move the quarantined and failed images still on the source again.

    Their items and counts are taken back and their outcomes forgotten, so each
    gets a new one; a move that had ended runs again until they have. An image
    deleted or moved meanwhile keeps its item. Not for a cancelled move.
    """
    move = await _get(move_id)
    if move.state == MoveState.CANCELLED:
        raise APIError("MOVE_STATE", details={"state": str(move.state)})
    items = await MoveItem.filter(
        move_id=move.id, state__in=[MoveItemState.QUARANTINED, MoveItemState.FAILED]
    )
    image_ids = [i.image_id for i in items]  # type: ignore[attr-defined]
    held = Image.filter(id__in=image_ids, pool_id=move.source.id)
    on_source = set(await held.values_list("id", flat=True))
    again = [i for i in items if i.image_id in on_source]  # type: ignore[attr-defined]
    if not again:
        return move
    quarantined = sum(1 for i in again if i.state == MoveItemState.QUARANTINED)
    changes: dict[str, Any] = {
        "failed": F("failed") - (len(again) - quarantined),
        "quarantined": F("quarantined") - quarantined,
    }
    if move.state in FINAL:
        changes.update(state=MoveState.RUNNING, finished_at=None, paused_by_window=False)
    ids = sorted(i.image_id for i in again)  # type: ignore[attr-defined]
    async with in_transaction() as connection:
        await MoveItem.filter(id__in=[i.id for i in again]).using_db(connection).delete()
        await Move.filter(id=move.id).using_db(connection).update(**changes)
    await redis.hdel(keys.move_outcomes(move.id), *map(str, ids))  # type: ignore[misc]
    if move.state in FINAL:
        await set_state(redis, keys, move.id, MoveState.RUNNING)
    await enqueue_batches(redis, keys, move, ids, new_request_id(), again=True)
    log.info("move %s: %d images tried again (%d quarantined)", move.id, len(ids), quarantined)
    return await _get(move_id)
