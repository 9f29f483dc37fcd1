"""Where a scrub's repair may fetch an image's files from: its copies on other nodes.

A scrub on a node found files of an image missing or damaged on one of its
pools and asks here (``POST REPAIR_PATH``) before it writes anything. The app
answers only for a pool of the asking node that holds a copy of the image (its
primary, or a verified replica: ``COPY_NOT_ON_POOL`` otherwise), only for the
image's own files (``MOVE_FILE_UNKNOWN``), never for a deleted image
(``NOT_FOUND``) or one whose files are moving between subtrees
(``VISIBILITY_CHANGING``). The answer lists the files as recorded and every
verified copy on another node whose heartbeat is fresh, the primary first,
each with a read grant (``pixelfox_protocol.grants``) for exactly those files
and hashes on that node's pool. So a stolen node reads nothing through a repair
that it was not meant to hold already.

The answer also says whether the pool still holds the image where the scrub's
listing said: the scrub writes nothing into a pool the image left meanwhile.
"""

from __future__ import annotations

import logging

from quart import Blueprint, current_app, g
from quart_schema import tag_blueprint, validate_request, validate_response

from pixelfox_common.web import raises
from pixelfox_protocol.errors import APIError
from pixelfox_protocol.internal import REPAIR_PATH, MoveFile, PeerCopy, RepairPlan, RepairRequest

from ..auth import node_required
from ..config import AppSettings
from ..copies.reads import alive_nodes
from ..grants import copy_file_url, mint_read_grant
from ..images.lookup import image_by_uuid
from ..models import CopyState, Image, ImageCopy, ImageVariant, StorageNode
from ..nodes import node_of
from .variants import own_pool

log = logging.getLogger(__name__)

blueprint = Blueprint("internal_repair", __name__)
tag_blueprint(blueprint, ["internal"])


@blueprint.post(REPAIR_PATH.replace("{image_uuid}", "<image_uuid>"))
@node_required
@validate_request(RepairRequest)
@validate_response(RepairPlan)
@raises(
    "NOT_FOUND", "POOL_NOT_ON_NODE", "COPY_NOT_ON_POOL", "MOVE_FILE_UNKNOWN", "VISIBILITY_CHANGING"
)
async def repair_plan(image_uuid: str, data: RepairRequest) -> RepairPlan:
    """The recorded files of an image and its verified copies elsewhere, for a repair (internal)."""
    return await plan(g.node, image_uuid, data, current_app.config["PIXELFOX"])


async def _image(image_uuid: str) -> Image:
    image = await image_by_uuid(image_uuid)
    if image.deleted_at is not None:
        raise APIError("NOT_FOUND")  # a repair never writes a trashed image back
    return image


async def plan(
    node: StorageNode, image_uuid: str, request: RepairRequest, settings: AppSettings
) -> RepairPlan:
    image = await _image(image_uuid)
    pool = await own_pool(node, request.pool_id)
    copies = await ImageCopy.filter(image_id=image.id).select_related("pool").order_by("id")
    primary = image.pool.id == pool.id
    here = [c for c in copies if c.pool.id == pool.id and c.state == CopyState.VERIFIED]
    if not primary and not here:
        raise APIError("COPY_NOT_ON_POOL", details={"pool_id": pool.id})
    if image.visibility_target is not None:
        raise APIError("VISIBILITY_CHANGING")
    recorded = {image.path: MoveFile(path=image.path, size=image.size, sha256=image.sha256)}
    for variant in await ImageVariant.filter(image_id=image.id).order_by("id"):
        recorded[variant.path] = MoveFile(
            path=variant.path, size=variant.size, sha256=variant.sha256
        )
    files = []
    for path in dict.fromkeys(request.paths):
        if path not in recorded:
            raise APIError("MOVE_FILE_UNKNOWN", details={"path": path})
        files.append(recorded[path])
    return RepairPlan(
        image_uuid=str(image.uuid),
        pool_id=pool.id,
        primary=primary,
        original=recorded[image.path],
        files=files,
        peers=await _peers(node, image, copies, [f for f in files if f.sha256], settings),
        backup_bucket=image.pool.backup_bucket,
        backup_prefix=image.pool.backup_prefix,
    )


async def _peers(
    node: StorageNode,
    image: Image,
    copies: list[ImageCopy],
    files: list[MoveFile],
    settings: AppSettings,
) -> list[PeerCopy]:
    """Verified copies on other nodes that beat, the primary first, each with a read grant.

    Only files with a recorded SHA-256 are granted: what a peer sends must be
    checked before it is written.
    """
    if not files:
        return []
    if not settings.token_signing_key.strip():
        log.warning("repair of image %s: no signing key, so no copy on another node", image.uuid)
        return []
    others = [
        c for c in copies if c.state == CopyState.VERIFIED and node_of(c.pool) != node.node_id
    ]
    redis, keys = current_app.extensions["redis"], current_app.extensions["keys"]
    alive = await alive_nodes(redis, keys, {node_of(c.pool) for c in others})
    others.sort(key=lambda c: c.pool.id != image.pool.id)
    return [
        PeerCopy(
            node_id=node_of(c.pool),
            pool_id=c.pool.id,
            copy_file_url=copy_file_url(c.pool, settings),
            grant=mint_read_grant(image, files, settings, node_of(c.pool), c.pool.id),
        )
        for c in others
        if node_of(c.pool) in alive
    ]
