"""The app's answers to a replica job and to the target's report.

The source node (one holding a *verified* copy of the image) asks for the
copy's ticket, then for a grant naming the files it hashed; the app mints one
only for a *pending* copy, to that copy's pool on its node, for the image's
own files (``grants.granted_files``, the very check a move's grant
passes). The target node, once it holds every file of the grant, reports the
copy with each file's size and SHA-256 as it verified them; that report, and
nothing the source says, makes the copy ``verified``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from pixelfox_protocol.errors import APIError
from pixelfox_protocol.internal import (
    CopyRecorded,
    CopyReport,
    CopyTicket,
    MoveFile,
    MoveGrant,
    MoveGrantRequest,
)

from ..config import AppSettings
from ..grants import granted_files, mint_grant, replicate_url
from ..models import CopyState, Image, ImageCopy, ImageVariant, StorageNode, StoragePool
from ..nodes import node_of

log = logging.getLogger(__name__)


async def _copy(copy_id: int) -> ImageCopy:
    """The copy; NOT_FOUND also for a deleted image's (no push for the trash)."""
    copy = await ImageCopy.get_or_none(id=copy_id).select_related("image", "pool")
    if copy is None or copy.image.deleted_at is not None:
        raise APIError("NOT_FOUND")
    return copy


async def _source_pool(node: StorageNode, image: Image) -> StoragePool:
    """A pool of ``node`` with a verified copy of the image (the primary first)."""
    verified = await ImageCopy.filter(image_id=image.id, state=CopyState.VERIFIED).select_related(
        "pool"
    )
    own = [c.pool for c in verified if node_of(c.pool) == node.node_id]
    if not own:
        raise APIError("POOL_NOT_ON_NODE")
    own.sort(key=lambda p: p.id != image.pool_id)  # type: ignore[attr-defined]
    return own[0]


async def ticket(node: StorageNode, copy_id: int, settings: AppSettings) -> CopyTicket:
    """What to push for one copy; ``state`` other than pending ends the job."""
    copy = await _copy(copy_id)
    image = copy.image
    if image.visibility_target is not None:
        raise APIError("VISIBILITY_CHANGING")
    source = await _source_pool(node, image)
    variants = await ImageVariant.filter(image_id=image.id).order_by("id")
    return CopyTicket(
        copy_id=copy.id,
        image_id=image.id,
        image_uuid=str(image.uuid),
        state=str(copy.state),
        source_pool_id=source.id,
        target_pool_id=copy.pool.id,
        target_node_id=node_of(copy.pool),
        replicate_url=replicate_url(copy.pool, settings),
        original=MoveFile(path=image.path, size=image.size, sha256=image.sha256),
        variants=[MoveFile(path=v.path, size=v.size) for v in variants],
    )


async def grant(
    node: StorageNode, copy_id: int, request: MoveGrantRequest, settings: AppSettings
) -> MoveGrant:
    """A replication grant for exactly these files of a pending copy, to its node.

    Only for a node holding a verified copy (POOL_NOT_ON_NODE), a pending copy
    (COPY_NOT_PENDING), on another node (BAD_REQUEST), for the image's own files.
    """
    copy = await _copy(copy_id)
    image = copy.image
    await _source_pool(node, image)
    if copy.state != CopyState.PENDING:
        raise APIError("COPY_NOT_PENDING", details={"state": str(copy.state)})
    if image.visibility_target is not None:
        raise APIError("VISIBILITY_CHANGING")
    return await mint_grant(
        node, image, request, settings, node_of(copy.pool), copy.pool.id, copy_id=copy.id
    )


async def verified(node: StorageNode, copy_id: int, report: CopyReport) -> CopyRecorded:
    """The target holds every file: the copy is verified if they are the image's files.

    Only the node of the copy's pool may report it (POOL_NOT_ON_NODE); the files
    must be exactly the image's original (its size and SHA-256) and variants
    (their sizes), each once (MOVE_FILE_UNKNOWN, CHECKSUM_MISMATCH). A copy
    already verified stays so; a lost one is not brought back by a late report.
    A deleted image's copy is NOT_FOUND (the route has the files follow it into
    the trash).
    """
    copy = await _copy(copy_id)
    if node_of(copy.pool) != node.node_id:
        raise APIError("POOL_NOT_ON_NODE")
    image = copy.image
    files = await granted_files(image, MoveGrantRequest(files=report.files))
    variant_paths = {
        str(path)
        for path in await ImageVariant.filter(image_id=image.id).values_list("path", flat=True)
    }
    missing = variant_paths - {f.path for f in files}
    if missing:
        raise APIError("MOVE_FILE_UNKNOWN", "Every variant belongs to the copy.")
    size = sum(f.size for f in files)
    now = datetime.now(UTC)
    changed = await ImageCopy.filter(id=copy.id, state=CopyState.PENDING).update(
        state=CopyState.VERIFIED, verified_at=now, bytes=size
    )
    state = CopyState.VERIFIED if changed else (await ImageCopy.get(id=copy.id)).state
    if changed:
        log.info("copy %s of image %s verified on pool %s", copy.id, image.uuid, copy.pool.name)
    return CopyRecorded(state=str(state))  # type: ignore[arg-type]
