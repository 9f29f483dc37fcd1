"""The app's side of the S3 cold backup: queue it, record it, and tell a restore what to fetch.

After an upload is recorded, ``nodequeue.enqueue_backup`` puts ``backup_original`` on
the background lane of the node that holds the file, if its pool has a
backup bucket. The node copies the original, checks it by SHA-256 and
reports back (``POST BACKUP_PATH``), which sets ``Image.backed_up_at``.

``pixelfox restore`` runs on the node and has no database: it asks here for
one image's record (``GET BACKUP_PATH``) or a pool's originals a page at a
time (``GET POOL_BACKUPS_PATH``), each with the SHA-256 recorded at upload,
which is what a restored file must match.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from pydantic import BaseModel, Field
from quart import Blueprint, g
from quart_schema import tag_blueprint, validate_querystring, validate_request, validate_response

from pixelfox_protocol.errors import APIError
from pixelfox_protocol.internal import (
    BACKUP_PATH,
    POOL_BACKUPS_PATH,
    BackupManifest,
    BackupRecord,
    BackupReport,
)

from ..auth import node_required
from ..models import Image, StorageNode
from .variants import own_image, own_pool

log = logging.getLogger(__name__)

MAX_PAGE = 1000

blueprint = Blueprint("internal_backup", __name__)
tag_blueprint(blueprint, ["internal"])


def record_of(image: Image) -> BackupRecord:
    return BackupRecord(
        image_uuid=str(image.uuid),
        pool_id=image.pool_id,  # type: ignore[attr-defined]
        path=image.path,
        sha256=image.sha256,
        size=image.size,
        backed_up_at=image.backed_up_at.isoformat() if image.backed_up_at else None,
    )


def _node() -> StorageNode:
    node: StorageNode = g.node
    return node


async def _own_image(image_uuid: str) -> Image:
    """The image, if it lives on a pool of the calling node."""
    return await own_image(_node(), image_uuid)


class BackupRecorded(BaseModel):
    image_uuid: str
    backed_up_at: str


class ManifestQuery(BaseModel):
    after: int = Field(default=0, ge=0, description="Image id the page starts after")
    limit: int = Field(default=500, ge=1, le=MAX_PAGE)


@blueprint.post(BACKUP_PATH.replace("{image_uuid}", "<image_uuid>"))
@node_required
@validate_request(BackupReport)
@validate_response(BackupRecorded)
async def backup_done(image_uuid: str, data: BackupReport) -> BackupRecorded:
    """A node copied an original to its pool's bucket (internal).

    The reported SHA-256 must be the one recorded at upload. Idempotent: the
    first report's time is kept.
    """
    image = await _own_image(image_uuid)
    if data.sha256 != image.sha256:
        raise APIError(
            "CHECKSUM_MISMATCH", details={"expected": image.sha256, "reported": data.sha256}
        )
    if image.backed_up_at is None:
        now = datetime.now(UTC)
        await Image.filter(id=image.id, backed_up_at=None).update(backed_up_at=now)
        image = await Image.get(id=image.id)
        log.info("backed up image=%s to %s/%s", image.uuid, data.bucket, data.key)
    assert image.backed_up_at is not None
    return BackupRecorded(image_uuid=str(image.uuid), backed_up_at=image.backed_up_at.isoformat())


@blueprint.get(BACKUP_PATH.replace("{image_uuid}", "<image_uuid>"))
@node_required
@validate_response(BackupRecord)
async def backup_record(image_uuid: str) -> BackupRecord:
    """What a restore of one image needs: its pool, path and SHA-256 (internal).

    NOT_FOUND for a deleted image: neither a restore nor a scrub's repair may
    write its original back where it would be served.
    """
    image = await _own_image(image_uuid)
    if image.deleted_at is not None:
        raise APIError("NOT_FOUND", "The image is deleted.")
    return record_of(image)


@blueprint.get(POOL_BACKUPS_PATH.replace("{pool_id}", "<int:pool_id>"))
@node_required
@validate_querystring(ManifestQuery)
@validate_response(BackupManifest)
async def pool_backups(pool_id: int, query_args: ManifestQuery) -> BackupManifest:
    """A page of a pool's originals in id order, for restoring the pool (internal)."""
    await own_pool(_node(), pool_id)
    images = (
        # Not the trash: a restored pool must not bring a deleted image back to life.
        await Image.filter(pool_id=pool_id, id__gt=query_args.after, deleted_at=None)
        .order_by("id")
        .limit(query_args.limit)
    )
    full = len(images) == query_args.limit
    return BackupManifest(
        pool_id=pool_id,
        items=[record_of(i) for i in images],
        next_after=images[-1].id if full else None,
    )
