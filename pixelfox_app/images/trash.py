"""Deleting an image into the trash, restoring it, and starting its purge.

``DELETE /api/v1/images/<uuid>`` (its owner or an admin) sets ``deleted_at``:
from that moment no page and no API answer shows the image (``may_see``), and
the node of every pool holding its files (``files.image_locations``) renames
them into the pool's trash folder (``.trash/``, which neither nginx nor the
node's own server serves), so its URLs stop answering within seconds — the
public and the private subtree alike. ``POST …/restore`` clears ``deleted_at``
and the nodes rename the files back. After the operator's retention
(``trash_retention_days``) the control worker purges it (``purge``): every
file, its S3 backup object, then its rows.

The rows decide, the nodes follow: each node job reports where it put the
files, and the app answers a report that no longer matches what the row
wants (a restore while the delete ran, or the reverse) with a job the other
way (``record_trash``). The node's jobs on one image hold its lock, so a
delete, a visibility change, variant processing and a move never interleave
on one node; a move that switched a deleted image's rows to its target has the
target trash the copies (``follow``), so no copy comes back to life.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from arq.connections import ArqRedis
from pydantic import BaseModel, Field
from quart import Blueprint, Response, current_app, g
from quart_schema import validate_response

from pixelfox_common.web import no_content, raises
from pixelfox_protocol.errors import APIError
from pixelfox_protocol.keys import RedisKeys

from .. import knobs
from ..auth import login_required
from ..models import Image, User
from ..nodequeue import enqueue_purge, enqueue_trash
from .files import image_locations
from .lookup import image_by_uuid
from .visibility import is_private, may_change

log = logging.getLogger(__name__)

blueprint = Blueprint("image_trash", __name__, url_prefix="/api/v1/images")


def may_delete(image: Image, user: User) -> bool:
    """The owner and admins may delete, restore and purge an image."""
    return user.is_active and may_change(image, user)


async def retention() -> timedelta:
    return timedelta(days=int(await knobs.get("trash_retention_days")))


async def purge_after(image: Image) -> datetime | None:
    """When the purge may take a deleted image."""
    if image.deleted_at is None:
        return None
    return image.deleted_at + await retention()


async def _trash_files(redis: ArqRedis, keys: RedisKeys, image: Image, request_id: str) -> None:
    trashed = image.deleted_at is not None
    for where in await image_locations(image):
        await enqueue_trash(redis, keys, image, where.pool, trashed=trashed, request_id=request_id)


async def delete_image(
    image: Image, user: User, redis: ArqRedis, keys: RedisKeys, request_id: str = ""
) -> Image:
    """Put ``image`` (pool loaded) into the trash; again: its jobs are queued again if lost."""
    if image.deleted_at is None:
        now = datetime.now(UTC)
        await Image.filter(id=image.id, deleted_at=None).update(
            deleted_at=now, deleted_by=user.username
        )
        image = await Image.get(id=image.id).select_related("pool")
        log.info("image deleted image=%s by=%s", image.uuid, user.username)
    if image.purging_at is None:
        await _trash_files(redis, keys, image, request_id)
    return image


async def restore_image(
    image: Image, redis: ArqRedis, keys: RedisKeys, request_id: str = ""
) -> Image:
    """Take ``image`` out of the trash; IMAGE_PURGING once its purge has started."""
    if image.purging_at is not None:
        raise APIError("IMAGE_PURGING")
    if image.deleted_at is not None:
        # The conditional update is the lock against a purge starting this moment.
        restored = await Image.filter(id=image.id, purging_at=None).update(
            deleted_at=None, deleted_by=""
        )
        if not restored:
            raise APIError("IMAGE_PURGING")
        image = await Image.get(id=image.id).select_related("pool")
        log.info("image restored image=%s", image.uuid)
    await _trash_files(redis, keys, image, request_id)
    return image


async def start_purge(
    image: Image, redis: ArqRedis, keys: RedisKeys, request_id: str = "", *, again: bool = False
) -> bool:
    """Queue the purge of a deleted ``image`` (pool loaded) on every pool holding its files.

    From here on it cannot be restored. ``again``: queue the jobs of a purge
    that started earlier (a lost job). True when jobs were queued.
    """
    if image.deleted_at is None:
        return False
    if image.purging_at is None:
        started = await Image.filter(
            id=image.id, deleted_at__not_isnull=True, purging_at=None
        ).update(purging_at=datetime.now(UTC))
        if not started:
            return False
    elif not again:
        return False
    queued = False
    for where in await image_locations(image):
        queued |= await enqueue_purge(
            redis, keys, image, where.pool, backup=where.original, request_id=request_id
        )
    log.info("purge queued image=%s", image.uuid)
    return queued


async def follow(image: Image, redis: ArqRedis, keys: RedisKeys) -> None:
    """The image's files are on other pools now (a move switched it): a deleted image's
    copies there go to the trash too, or are purged if its purge has started."""
    if image.deleted_at is None:
        return
    log.info("a deleted image moved; its copies follow into the trash image=%s", image.uuid)
    if image.purging_at is not None:
        await start_purge(image, redis, keys, again=True)
    else:
        await _trash_files(redis, keys, image, "")


class TrashAnswer(BaseModel):
    image_uuid: str
    deleted: bool = Field(description="In the trash: hidden everywhere, its URLs do not answer")
    deleted_at: datetime | None = None
    purge_after: datetime | None = Field(
        default=None, description="From then on the image may be purged for good"
    )


async def answer(image: Image) -> TrashAnswer:
    return TrashAnswer(
        image_uuid=str(image.uuid),
        deleted=image.deleted_at is not None,
        deleted_at=image.deleted_at,
        purge_after=await purge_after(image),
    )


async def own_image(image_uuid: str, user: User) -> Image:
    """An image the caller may delete or restore (deleted ones included).

    NOT_FOUND when there is none, or the caller may not even see it (another's
    private or deleted image); FORBIDDEN for another's visible image.
    """
    image = await image_by_uuid(image_uuid)
    if may_delete(image, user):
        return image
    if image.deleted_at is None and not is_private(image):
        raise APIError("FORBIDDEN", "Only the image's owner or an admin can delete it.")
    raise APIError("NOT_FOUND")


def _queues() -> tuple[ArqRedis, RedisKeys]:
    return current_app.extensions["redis"], current_app.extensions["keys"]


@blueprint.delete("/<image_uuid>")
@login_required
@no_content
@raises("NOT_FOUND", "FORBIDDEN")
async def delete(image_uuid: str) -> Response:
    """Move an image into the trash (its owner or an admin): 204 No Content.

    It disappears from every page and API answer at once and its file URLs stop
    answering within seconds. Idempotent: deleting it again answers 204 too.
    It can be restored until its retention ends (``trash_retention_days``).
    """
    image = await own_image(image_uuid, g.user)
    await delete_image(image, g.user, *_queues(), g.get("request_id", ""))
    return Response("", 204)


@blueprint.post("/<image_uuid>/restore")
@login_required
@validate_response(TrashAnswer)
@raises("NOT_FOUND", "FORBIDDEN", "IMAGE_PURGING")
async def restore(image_uuid: str) -> TrashAnswer:
    """Take an image out of the trash (its owner or an admin); its URLs answer again
    within seconds. Idempotent; IMAGE_PURGING once its purge has started."""
    image = await own_image(image_uuid, g.user)
    return await answer(await restore_image(image, *_queues(), g.get("request_id", "")))
