"""The app's answers to a move's *batch* job: many tickets at once, one switch for all.

A batch job carries up to ``MOVE_BATCH_MAX`` images of one move. It asks for
their tickets in one call, copies and verifies them all, and asks for one
switch: every verified image's row and variant rows go to the target pool in
one transaction, counted ``done`` in it, each only if it still points at the
source. The rules are the single image's (``tickets``): only the node holding
the source pool asks; an image whose copy on the target is being removed, or
whose visibility is changing, stays on the source.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from arq.connections import ArqRedis
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from pixelfox_protocol.internal import (
    MoveBatchSwitch,
    MoveBatchSwitched,
    MoveBatchTicket,
    MoveRefused,
)
from pixelfox_protocol.keys import RedisKeys

from ..config import AppSettings
from ..images.trash import follow
from ..models import CopyState, Image, ImageCopy, ImageVariant, Move, MoveItemState, StorageNode
from .progress import finish_if_complete, record_item
from .throttle import Throttle
from .tickets import own_move, ticket_of, where_of

log = logging.getLogger(__name__)


async def batch_ticket(
    node: StorageNode, move_id: int, image_ids: list[int], settings: AppSettings
) -> MoveBatchTicket:
    """The tickets of the batch's images; deleted or changing ones are listed as refused."""
    move = await own_move(node, move_id)
    images = {i.id: i for i in await Image.filter(id__in=image_ids)}
    variants: dict[int, list[ImageVariant]] = {}
    for variant in await ImageVariant.filter(image_id__in=list(images)).order_by("id"):
        variants.setdefault(variant.image_id, []).append(variant)  # type: ignore[attr-defined]
    answer = MoveBatchTicket(
        move_id=move.id, state=str(move.state), throttle=Throttle.of(move).for_node()
    )
    for image_id in dict.fromkeys(image_ids):
        image = images.get(image_id)
        if image is None or image.deleted_at is not None:
            answer.refused.append(MoveRefused(image_id=image_id, code="NOT_FOUND"))
        elif image.visibility_target is not None:
            answer.refused.append(MoveRefused(image_id=image_id, code="VISIBILITY_CHANGING"))
        else:
            answer.tickets.append(ticket_of(move, image, variants.get(image_id, []), settings))
    return answer


async def batch_switch(
    node: StorageNode, move_id: int, report: MoveBatchSwitch, redis: ArqRedis, keys: RedisKeys
) -> MoveBatchSwitched:
    """Point every verified image of the batch and its variants at the target, together."""
    move = await own_move(node, move_id)
    source, target = move.source.id, move.target.id
    items = {item.image_id: item for item in report.items}
    images = {i.id: i for i in await Image.filter(id__in=list(items))}
    # A copy whose original differs from the upload's is never switched.
    wanted = [
        i for i, item in items.items() if i in images and images[i].sha256 == item.original_sha256
    ]
    removing: set[int] = set()
    switched: list[int] = []
    async with in_transaction() as connection:
        # The move's row first: the write lock (SQLite) before the reads below, and one
        # switch of this move at a time.
        await Move.filter(id=move.id).using_db(connection).update(done=F("done"))
        busy: list[int] = await (
            ImageCopy.filter(image_id__in=wanted, pool_id=target, state=CopyState.REMOVING)
            .using_db(connection)
            .values_list("image_id", flat=True)
        )  # type: ignore[assignment]
        removing = set(busy)
        switched = await (
            Image.filter(
                id__in=[i for i in wanted if i not in removing],
                pool_id=source,
                visibility_target=None,
            )
            .select_for_update()
            .using_db(connection)
            .values_list("id", flat=True)
        )  # type: ignore[assignment]
        if switched:
            await Image.filter(id__in=switched).using_db(connection).update(pool_id=target)
            await (
                ImageVariant.filter(image_id__in=switched, pool_id=source)
                .using_db(connection)
                .update(pool_id=target)
            )
            await _copies_follow(switched, source, target, connection)
            moved = sum(items[i].bytes for i in switched)
            await (
                Move.filter(id=move.id)
                .using_db(connection)
                .update(done=F("done") + len(switched), bytes_moved=F("bytes_moved") + moved)
            )
    if switched:
        async with redis.pipeline(transaction=False) as pipe:
            for image_id in switched:
                pipe.hsetnx(keys.move_outcomes(move.id), str(image_id), "done")
            await pipe.execute()
        deleted = Image.filter(id__in=switched, deleted_at__isnull=False).select_related("pool")
        for gone in await deleted:
            # Deleted while its copies were made: the target's copies follow it into the
            # trash (the job removes the source's), so none comes back.
            await follow(gone, redis, keys)
        log.info("move %s: %d images switched to pool %s", move.id, len(switched), target)
    where: dict[int, str] = {}
    now = {i.id: i for i in await Image.filter(id__in=list(items))}
    for image_id in items:
        row = now.get(image_id)
        where[image_id] = "gone" if row is None else where_of(row.pool_id, move)  # type: ignore[attr-defined]
        if image_id in removing:
            note = "a surplus copy of the image on the target pool is being removed; move it later"
            await record_item(redis, keys, move.id, image_id, MoveItemState.FAILED, note)
        elif image_id not in switched and where[image_id] == "target":
            note = "the image was already on the target pool"
            await record_item(redis, keys, move.id, image_id, MoveItemState.SKIPPED, note)
    await finish_if_complete(redis, keys, move.id)
    return MoveBatchSwitched(where=where)  # type: ignore[arg-type]


async def _copies_follow(
    image_ids: list[int], source: int, target: int, connection: BaseDBAsyncClient
) -> None:
    """``copies.replicas.follow_move`` for many images at once (in the switch's transaction)."""
    now = datetime.now(UTC)
    there: list[int] = await (
        ImageCopy.filter(image_id__in=image_ids, pool_id=target)
        .using_db(connection)
        .values_list("image_id", flat=True)
    )  # type: ignore[assignment]
    if there:
        await (
            ImageCopy.filter(image_id__in=there, pool_id=target)
            .using_db(connection)
            .update(state=CopyState.VERIFIED, verified_at=now)
        )
        await ImageCopy.filter(image_id__in=there, pool_id=source).using_db(connection).delete()
    rest = [i for i in image_ids if i not in set(there)]
    if rest:
        await (
            ImageCopy.filter(image_id__in=rest, pool_id=source)
            .using_db(connection)
            .update(pool_id=target, state=CopyState.VERIFIED, verified_at=now)
        )
