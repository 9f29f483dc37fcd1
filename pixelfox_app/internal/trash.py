"""Recording a node's reports on the trash: files trashed or restored, files purged.

The image row says what is wanted (``deleted_at``, ``purging_at``); a report
only says what the node did on one of its pools. A report that no longer
matches the row (restored while the files went into the trash, or the
reverse) gets a job the other way, so the files always end where the row
wants them. A purge report deletes the rows of that pool's files; the image
row goes with the report of the pool that holds the original. A surplus
copy's purge (``copies.surplus``) deletes only that copy's row.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from arq.connections import ArqRedis
from quart import Blueprint, current_app, g
from quart_schema import tag_blueprint, validate_request, validate_response
from tortoise.transactions import in_transaction

from pixelfox_common.web import raises
from pixelfox_protocol.errors import APIError
from pixelfox_protocol.internal import (
    PURGED_PATH,
    TRASH_PATH,
    PurgeRecorded,
    PurgeReport,
    TrashRecorded,
    TrashReport,
)
from pixelfox_protocol.keys import RedisKeys

from ..auth import node_required
from ..copies import surplus
from ..images.files import image_locations
from ..images.lookup import image_by_uuid
from ..models import Image, ImageCopy, ImageState, ImageVariant, StorageNode, StoragePool
from ..moves.progress import finish_drains
from ..nodequeue import enqueue_trash, enqueue_visibility, requeue_processing
from ..nodes import node_of

log = logging.getLogger(__name__)

blueprint = Blueprint("internal_trash", __name__)
tag_blueprint(blueprint, ["internal"])


async def _image_and_pool(
    node: StorageNode, image_uuid: str, pool_id: int
) -> tuple[Image, StoragePool]:
    image = await image_by_uuid(image_uuid)
    pool = await StoragePool.get_or_none(id=pool_id)
    if pool is None or node_of(pool) != node.node_id:
        raise APIError("POOL_NOT_ON_NODE")
    return image, pool


async def record_trash(
    node: StorageNode, image_uuid: str, report: TrashReport, redis: ArqRedis, keys: RedisKeys
) -> TrashRecorded:
    """Answer a node that trashed (or restored) an image's files on one pool."""
    image, pool = await _image_and_pool(node, image_uuid, report.pool_id)
    wanted = image.deleted_at is not None
    holds = any(where.pool.id == pool.id for where in await image_locations(image))
    if image.purging_at is not None or not holds:
        # Purged soon wherever the files are / a pool the image left (a move):
        # nothing to follow up here.
        return TrashRecorded(image_uuid=str(image.uuid), deleted=wanted)
    if report.trashed != wanted:
        log.info("trash report outdated image=%s; files go back (trashed=%s)", image.uuid, wanted)
        await enqueue_trash(redis, keys, image, pool, trashed=wanted)
    elif not wanted and pool.id == image.pool.id:
        await _resume(image, redis, keys)
    return TrashRecorded(image_uuid=str(image.uuid), deleted=wanted)


async def _resume(image: Image, redis: ArqRedis, keys: RedisKeys) -> None:
    """A restored image's files are back: finish what its deletion interrupted."""
    if image.visibility_target is not None:
        # The visibility job found no files (they were in the trash); now it can run.
        await enqueue_visibility(redis, keys, image)
    if image.state != ImageState.READY:
        # Its variants were being made when it was deleted; make them now.
        now = datetime.now(UTC)
        await requeue_processing(redis, keys, image, image.pool, settle=timedelta(0), now=now)


async def record_purged(
    node: StorageNode, image_uuid: str, report: PurgeReport, redis: ArqRedis, keys: RedisKeys
) -> PurgeRecorded:
    """A node deleted an image's files on one pool: its rows there go (only the copy's row
    for a surplus copy the image keeps living without)."""
    image, pool = await _image_and_pool(node, image_uuid, report.pool_id)
    if image.purging_at is None:
        # A surplus copy (a factor lowered, a drained pool): only its row goes.
        if await surplus.removed(image, pool):
            await finish_drains(pool, redis, keys)
            return PurgeRecorded(image_uuid=str(image.uuid), rows_deleted=False)
        raise APIError("BAD_REQUEST", "The image is not being purged.")
    original_here = image.pool.id == pool.id
    async with in_transaction() as connection:
        await ImageVariant.filter(image_id=image.id, pool_id=pool.id).using_db(connection).delete()
        await ImageCopy.filter(image_id=image.id, pool_id=pool.id).using_db(connection).delete()
        if original_here:
            # With the original's pool the image is gone (rows of variants on a pool
            # still purging go with it; that pool's job is queued and needs no row).
            await Image.filter(id=image.id).using_db(connection).delete()
    log.info(
        "purged image=%s pool=%s files=%d bytes=%d backup_deleted=%s",
        image.uuid,
        pool.id,
        report.removed,
        report.bytes,
        report.backup_deleted,
    )
    return PurgeRecorded(image_uuid=str(image.uuid), rows_deleted=original_here)


def _rule(path: str) -> str:
    return path.replace("{image_uuid}", "<image_uuid>")


@blueprint.post(_rule(TRASH_PATH))
@node_required
@validate_request(TrashReport)
@validate_response(TrashRecorded)
@raises("NOT_FOUND", "POOL_NOT_ON_NODE")
async def trash_done(image_uuid: str, data: TrashReport) -> TrashRecorded:
    """A node renamed an image's files on one pool into its trash, or back (internal)."""
    redis, keys = current_app.extensions["redis"], current_app.extensions["keys"]
    return await record_trash(g.node, image_uuid, data, redis, keys)


@blueprint.post(_rule(PURGED_PATH))
@node_required
@validate_request(PurgeReport)
@validate_response(PurgeRecorded)
@raises("NOT_FOUND", "POOL_NOT_ON_NODE", "BAD_REQUEST")
async def purge_done(image_uuid: str, data: PurgeReport) -> PurgeRecorded:
    """A node deleted an image's files on one pool for good (internal)."""
    redis, keys = current_app.extensions["redis"], current_app.extensions["keys"]
    return await record_purged(g.node, image_uuid, data, redis, keys)
