"""Moving chosen images to a pool (the admin's Images page): a move restricted to their ids.

A selection is one ``Move`` per source pool among the chosen images, each
with the ids (``Move.image_ids``); the rest is the pool move's machinery. The
planner queues only those of the ids still on the source
(``planner.plan_move``); progress and the end count only them; the batch
jobs copy, verify and switch them as they do any move's images, replicas on
the target included (the switch makes the target's copy the primary's). What
differs is what is *not* done: the source stays in placement (it is not being
drained), its replicas of other pools' images are not re-placed, and its own
replicas do not stop counting towards the replication factor
(``copies.factor.leaving_pools``).

Images already on the target and images in the trash are left out and said
so. A source pool with a move still going refuses (``MOVE_RUNNING``) before
any move starts.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from arq.connections import ArqRedis

from pixelfox_protocol.errors import APIError
from pixelfox_protocol.keys import RedisKeys

from ..models import Image, ImageVariant, Move, MoveState, StoragePool
from ..nodequeue import enqueue_planner
from .control import check_target, find_pool, totals
from .progress import FINAL, set_state
from .throttle import Throttle

log = logging.getLogger(__name__)

# Most images one selection takes.
SELECTION_MAX = 1000


@dataclass
class Selection:
    """What a selection started: a move per source pool, and what it left out (why)."""

    target: StoragePool
    moves: list[Move] = field(default_factory=list)
    images: int = 0
    already_there: int = 0
    left_out: list[str] = field(default_factory=list)


def is_selection(move: Move) -> bool:
    return move.image_ids is not None


async def move_images(
    image_ids: list[int],
    target_ref: str | int,
    redis: ArqRedis,
    keys: RedisKeys,
    *,
    requested_by: str = "",
) -> Selection:
    """Move the chosen images to the target pool; the moves started (none: all there).

    ``VALIDATION_ERROR`` for no ids or too many, ``NOT_FOUND`` for no such pool,
    ``MOVE_RUNNING`` when a source has a move going, and the target's checks
    (``MOVE_TARGET_UNAVAILABLE``, ``STORAGE_FULL``) as a pool move has them.
    """
    chosen = sorted(dict.fromkeys(int(i) for i in image_ids))
    if not chosen:
        raise APIError("VALIDATION_ERROR", "Tick the images to move first.")
    if len(chosen) > SELECTION_MAX:
        raise APIError("VALIDATION_ERROR", f"Move at most {SELECTION_MAX} images at a time.")
    target = await find_pool(target_ref)
    selection = Selection(target)
    by_source: dict[int, list[int]] = defaultdict(list)
    rows = await Image.filter(id__in=chosen).values_list(
        "id", "pool_id", "deleted_at", "original_filename", "short_id"
    )
    found = {int(row[0]) for row in rows}
    for image_id, pool_id, deleted_at, filename, short_id in rows:
        if deleted_at is not None:
            selection.left_out.append(f"{filename or short_id} is in the trash")
        elif pool_id == target.id:
            selection.already_there += 1
        else:
            by_source[int(pool_id)].append(int(image_id))
    selection.left_out += [f"image {i} does not exist" for i in chosen if i not in found]
    if not by_source:
        return selection
    busy = (
        await Move.filter(source_id__in=list(by_source))
        .exclude(state__in=list(FINAL))
        .select_related("source")
        .first()
    )
    if busy is not None:
        raise APIError(
            "MOVE_RUNNING",
            f"Pool {busy.source.name!r} has a move going (move {busy.id}); "
            "move its images once it has ended.",
            details={"move_id": busy.id},
        )
    moving = [i for ids in by_source.values() for i in ids]
    _, originals, variants = await totals(
        Image.filter(id__in=moving), ImageVariant.filter(image_id__in=moving)
    )
    await check_target(target, originals + variants, redis, keys)
    sources = {p.id: p for p in await StoragePool.filter(id__in=list(by_source))}
    throttle = Throttle()
    for source_id, ids in sorted(by_source.items()):
        move = await Move.create(
            source=sources[source_id],
            target=target,
            state=MoveState.RUNNING,
            requested_by=requested_by[:64],
            started_at=datetime.now(UTC),
            image_ids=sorted(ids),
            **throttle.columns(),
        )
        await set_state(redis, keys, move.id, MoveState.RUNNING)
        await enqueue_planner(redis, keys, move.id, 0)
        log.info(
            "move %s: %d chosen images %s → %s by %s",
            move.id,
            len(ids),
            sources[source_id].name,
            target.name,
            requested_by,
        )
        selection.moves.append(move)
    selection.images = len(moving)
    return selection
