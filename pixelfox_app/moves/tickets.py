"""The app's answers to a move job: its ticket, the switch of the rows, a skipped or failed image.

Only the node that holds the move's *source* pool may ask (a stolen node gets
grants for its own images only). The switch is the moment of truth: the image
row and all its variant rows go to the target pool in one transaction, and
only if they still point at the source; the image is counted ``done`` in the
same transaction.
"""

from __future__ import annotations

import logging

from redis.asyncio import Redis
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from pixelfox_protocol import grants
from pixelfox_protocol.errors import APIError
from pixelfox_protocol.internal import (
    REPLICATE_PATH,
    MoveFile,
    MoveOutcome,
    MoveSwitch,
    MoveSwitched,
    MoveTicket,
)
from pixelfox_protocol.keys import RedisKeys

from .. import knobs
from ..config import AppSettings
from ..models import Image, ImageVariant, Move, MoveItemState, StorageNode, StoragePool
from ..nodes import node_of
from ..pools import effective_upload_api_url
from .progress import claim_outcome, finish_if_complete, record_item

log = logging.getLogger(__name__)


async def _own_move(node: StorageNode, move_id: int) -> Move:
    move = await Move.get_or_none(id=move_id).select_related("source", "target")
    if move is None:
        raise APIError("NOT_FOUND")
    if node_of(move.source) != node.node_id:
        # The job ran on a node that does not hold the pool (any more): say where it is.
        raise APIError("POOL_NOT_ON_NODE", details={"node_id": node_of(move.source)})
    return move


def _where(pool_id: int, move: Move) -> str:
    if pool_id == move.source.id:
        return "source"
    return "target" if pool_id == move.target.id else "elsewhere"


def replicate_url(pool: StoragePool, settings: AppSettings) -> str:
    """The target node's replicate endpoint, on the same origin as its upload endpoint."""
    upload = effective_upload_api_url(pool, settings)
    origin = upload.split("/api/", 1)[0] if "/api/" in upload else upload.rstrip("/")
    return origin + REPLICATE_PATH


async def ticket(
    node: StorageNode, move_id: int, image_id: int, settings: AppSettings
) -> MoveTicket:
    """What to copy for one image, and a grant for the target (while it is on the source)."""
    move = await _own_move(node, move_id)
    image = await Image.get_or_none(id=image_id)
    if image is None:
        # Deleted since it was planned: nothing to move, but the move must still end.
        raise APIError("NOT_FOUND")
    if image.visibility_target is not None:
        raise APIError("VISIBILITY_CHANGING")
    variants = await ImageVariant.filter(image_id=image.id).order_by("id")
    where = _where(image.pool_id, move)
    original = MoveFile(path=image.path, size=image.size, sha256=image.sha256)
    files = [MoveFile(path=v.path, size=v.size) for v in variants]
    grant = ""
    if where == "source" and node_of(move.target) != node.node_id:
        if not settings.token_signing_key.strip():
            raise APIError("UNAVAILABLE", "Moves to other nodes need the app's signing key.")
        grant = grants.mint(
            grants.ReplicationGrant(
                node_id=node_of(move.target),
                pool_id=move.target.id,
                image_uuid=str(image.uuid),
                original_path=image.path,
                original_sha256=image.sha256,
                # Variants are small next to their original, but leave room for them.
                max_bytes=image.size + sum(v.size for v in variants) + (1 << 20),
                require_checksum=bool(await knobs.get("replication_require_checksum")),
                move_id=move.id,
            ),
            settings.token_signing_key,
        )
    return MoveTicket(
        move_id=move.id,
        image_id=image.id,
        image_uuid=str(image.uuid),
        state=str(move.state),
        where=where,
        source_pool_id=move.source.id,
        target_pool_id=move.target.id,
        target_node_id=node_of(move.target),
        replicate_url=replicate_url(move.target, settings),
        original=original,
        variants=files,
        grant=grant,
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
    move = await _own_move(node, move_id)
    image = await Image.get_or_none(id=image_id)
    if image is None:
        raise APIError("NOT_FOUND")
    if report.original_sha256 != image.sha256:
        details = {"expected": image.sha256, "reported": report.original_sha256}
        raise APIError("CHECKSUM_MISMATCH", details=details)
    source, target = move.source.id, move.target.id
    async with in_transaction() as connection:
        switched = (
            await Image.filter(id=image.id, pool_id=source, visibility_target=None)
            .using_db(connection)
            .update(pool_id=target)
        )
        if switched:
            variants = ImageVariant.filter(image_id=image.id, pool_id=source)
            await variants.using_db(connection).update(pool_id=target)
            await (
                Move.filter(id=move.id)
                .using_db(connection)
                .update(done=F("done") + 1, bytes_moved=F("bytes_moved") + report.bytes)
            )
    current = await Image.get(id=image.id)
    where = _where(current.pool_id, move)  # type: ignore[attr-defined]
    if switched:
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
    redis: Redis,
    keys: RedisKeys,
) -> bool:
    """Count a skipped or failed image once; True when it was counted now."""
    move = await _own_move(node, move_id)
    state = MoveItemState.FAILED if report.state == "failed" else MoveItemState.SKIPPED
    counted = await record_item(redis, keys, move.id, image_id, state, report.error)
    if counted:
        log.warning("move %s: image %s %s: %s", move.id, image_id, state, report.error)
    return counted
