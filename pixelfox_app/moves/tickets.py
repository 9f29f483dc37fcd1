"""The app's answers to a move job: ticket, grant, the switch of the rows, an outcome.

Only the node that holds the move's *source* pool may ask (a stolen node gets
grants for its own images only, while their move runs, for their own files).
The switch is the moment of truth: the image row and all its variant rows go
to the target pool in one transaction, and only if they still point at the
source; the image is counted ``done`` in the same transaction.
"""

from __future__ import annotations

import logging

from arq.connections import ArqRedis
from redis.asyncio import Redis
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from pixelfox_protocol.errors import APIError
from pixelfox_protocol.internal import (
    MoveFile,
    MoveGrant,
    MoveGrantRequest,
    MoveOutcome,
    MoveSwitch,
    MoveSwitched,
    MoveTicket,
)
from pixelfox_protocol.keys import RedisKeys

from ..config import AppSettings
from ..copies.replicas import follow_move, removing_on
from ..grants import mint_grant, replicate_url
from ..images.trash import follow
from ..models import (
    Image,
    ImageVariant,
    Move,
    MoveItemState,
    MoveState,
    StorageNode,
)
from ..nodequeue import enqueue_move_handover
from ..nodes import node_of
from .progress import claim_outcome, finish_if_complete, record_item

log = logging.getLogger(__name__)


class _TargetRemoving(Exception):
    """The target pool's copy of the image is being removed: no switch onto it."""


async def own_move(node: StorageNode, move_id: int) -> Move:
    move = await Move.get_or_none(id=move_id).select_related("source", "target")
    if move is None:
        raise APIError("NOT_FOUND")
    if node_of(move.source) != node.node_id:
        # The job ran on a node that does not hold the pool (any more): say where it is.
        raise APIError("POOL_NOT_ON_NODE", details={"node_id": node_of(move.source)})
    return move


def where_of(pool_id: int, move: Move) -> str:
    if pool_id == move.source.id:
        return "source"
    return "target" if pool_id == move.target.id else "elsewhere"


async def ticket(
    node: StorageNode, move_id: int, image_id: int, settings: AppSettings
) -> MoveTicket:
    """What to copy for one image (a push to another node then asks for its grant)."""
    move = await own_move(node, move_id)
    image = await Image.get_or_none(id=image_id)
    if image is None or image.deleted_at is not None:
        # Deleted since it was planned: nothing to move, but the move must still end.
        raise APIError("NOT_FOUND")
    if image.visibility_target is not None:
        raise APIError("VISIBILITY_CHANGING")
    variants = await ImageVariant.filter(image_id=image.id).order_by("id")
    return ticket_of(move, image, variants, settings)


def ticket_of(
    move: Move, image: Image, variants: list[ImageVariant], settings: AppSettings
) -> MoveTicket:
    """One image's ticket: its files and where its rows point (the batch's tickets too)."""
    return MoveTicket(
        move_id=move.id,
        image_id=image.id,
        image_uuid=str(image.uuid),
        state=str(move.state),
        where=where_of(image.pool_id, move),  # type: ignore[arg-type,attr-defined]
        source_pool_id=move.source.id,
        target_pool_id=move.target.id,
        target_node_id=node_of(move.target),
        replicate_url=replicate_url(move.target, settings),
        original=MoveFile(path=image.path, size=image.size, sha256=image.sha256),
        variants=[MoveFile(path=v.path, size=v.size) for v in variants],
    )


async def grant(
    node: StorageNode, move_id: int, image_id: int, request: MoveGrantRequest, settings: AppSettings
) -> MoveGrant:
    """A replication grant for exactly the listed files of one image of a running move.

    Only for the node that holds the move's source pool (POOL_NOT_ON_NODE), while
    the move runs (MOVE_NOT_RUNNING), for an image on the source pool
    (MOVE_ITEM_UNKNOWN), and only for the image's own files as its rows and the
    layout name them, of the rows' sizes (MOVE_FILE_UNKNOWN), the original with
    the upload's SHA-256 (CHECKSUM_MISMATCH).
    """
    move = await own_move(node, move_id)
    if move.state != MoveState.RUNNING:
        raise APIError("MOVE_NOT_RUNNING", details={"state": str(move.state)})
    image = await Image.get_or_none(id=image_id)
    if image is not None and image.deleted_at is not None:
        raise APIError("NOT_FOUND")  # deleted since its ticket: no copy is pushed
    if image is None or image.pool_id != move.source.id:  # type: ignore[attr-defined]
        raise APIError("MOVE_ITEM_UNKNOWN", details={"image_id": image_id})
    if image.visibility_target is not None:
        raise APIError("VISIBILITY_CHANGING")
    return await mint_grant(
        node, image, request, settings, node_of(move.target), move.target.id, move_id=move.id
    )


async def switch(
    node: StorageNode,
    move_id: int,
    image_id: int,
    report: MoveSwitch,
    redis: Redis,
    keys: RedisKeys,
) -> MoveSwitched:
    """Point the image and all its variants at the target pool, if they are on the source."""
    move = await own_move(node, move_id)
    image = await Image.get_or_none(id=image_id)
    if image is None:
        raise APIError("NOT_FOUND")
    if report.original_sha256 != image.sha256:
        details = {"expected": image.sha256, "reported": report.original_sha256}
        raise APIError("CHECKSUM_MISMATCH", details=details)
    source, target = move.source.id, move.target.id
    try:
        async with in_transaction() as connection:
            switched = (
                await Image.filter(id=image.id, pool_id=source, visibility_target=None)
                .using_db(connection)
                .update(pool_id=target)
            )
            if switched and await removing_on(image.id, target, connection):
                raise _TargetRemoving  # rolls the switch back
            if switched:
                variants = ImageVariant.filter(image_id=image.id, pool_id=source)
                await variants.using_db(connection).update(pool_id=target)
                await follow_move(image.id, source, target, connection)
                await (
                    Move.filter(id=move.id)
                    .using_db(connection)
                    .update(done=F("done") + 1, bytes_moved=F("bytes_moved") + report.bytes)
                )
    except _TargetRemoving:
        # Its surplus copy there is being deleted: the image stays on the source.
        note = "a surplus copy of the image on the target pool is being removed; move it later"
        await record_item(redis, keys, move.id, image.id, MoveItemState.FAILED, note)
        return MoveSwitched(switched=False, where="source")
    current = await Image.get(id=image.id)
    where = where_of(current.pool_id, move)  # type: ignore[attr-defined]
    if switched:
        # Deleted while its copies were pushed: the target's copies follow it into
        # the trash (the source's are removed by the job), so none comes back.
        await follow(await Image.get(id=image.id).select_related("pool"), redis, keys)  # type: ignore[arg-type]
        await claim_outcome(redis, keys, move.id, image.id, "done")
        log.info(
            "move %s: image %s switched to pool %s (%d bytes, %d variants missing)",
            move.id,
            image.uuid,
            target,
            report.bytes,
            len(report.missing_variants),
        )
    elif where == "target":
        # Switched before, by this move (already counted) or another one (a skip).
        note = "the image was already on the target pool"
        await record_item(redis, keys, move.id, image.id, MoveItemState.SKIPPED, note)
    await finish_if_complete(redis, keys, move.id)
    return MoveSwitched(switched=bool(switched), where=where)  # type: ignore[arg-type]


async def outcome(
    node: StorageNode,
    move_id: int,
    image_id: int,
    report: MoveOutcome,
    redis: ArqRedis,
    keys: RedisKeys,
) -> bool:
    """Count a skipped or failed image once; True when it was counted now.

    ``wrong-node``: the job ran on a node that does not hold the source pool (any
    more); the app puts it on the lane of the node that does (never counted).
    """
    if report.state == "wrong-node":
        await hand_over(node, move_id, image_id, redis, keys)
        return False
    move = await own_move(node, move_id)
    state = MoveItemState(report.state)
    counted = await record_item(redis, keys, move.id, image_id, state, report.error)
    if counted:
        log.warning("move %s: image %s %s: %s", move.id, image_id, state, report.error)
    return counted


async def hand_over(
    node: StorageNode, move_id: int, image_id: int, redis: ArqRedis, keys: RedisKeys
) -> bool:
    """Queue an image's job on the node that holds the move's source pool now.

    Only for an image on the source pool of a move that is running or paused,
    reported by a node that is not the holder; True when a job was queued.
    """
    move = await Move.get_or_none(id=move_id).select_related("source")
    if move is None or move.state not in (MoveState.RUNNING, MoveState.PAUSED):
        return False
    holder = node_of(move.source)
    image = await Image.get_or_none(id=image_id, pool_id=move.source.id)
    if image is None or holder == node.node_id:
        return False
    queued = await enqueue_move_handover(redis, keys, move.id, image.id, move.source)
    log.warning("move %s: image %s handed to %s by %s", move.id, image.id, holder, node.node_id)
    return queued
