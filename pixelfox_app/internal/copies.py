"""The internal API of replicas: the source node's ticket and grant, the target's report."""

from __future__ import annotations

from quart import Blueprint, current_app, g
from quart_schema import tag_blueprint, validate_request, validate_response

from pixelfox_common.web import raises
from pixelfox_protocol import layout
from pixelfox_protocol.internal import (
    COPY_GRANT_PATH,
    COPY_PATH,
    COPY_VERIFIED_PATH,
    CopyRecorded,
    CopyReport,
    CopyTicket,
    MoveGrant,
    MoveGrantRequest,
)

from ..auth import node_required
from ..copies import surplus, throttle, tickets
from ..images.trash import follow
from ..models import Image, ImageCopy, Visibility
from ..nodequeue import enqueue_subtree
from ..nodes import node_of

blueprint = Blueprint("internal_copies", __name__)
tag_blueprint(blueprint, ["internal"])


def _rule(path: str) -> str:
    return path.replace("{copy_id}", "<int:copy_id>")


@blueprint.get(_rule(COPY_PATH))
@node_required
@validate_response(CopyTicket)
@raises("NOT_FOUND", "POOL_NOT_ON_NODE", "VISIBILITY_CHANGING")
async def copy_ticket(copy_id: int) -> CopyTicket:
    """What the source node pushes for one copy of an image (internal)."""
    found = await ImageCopy.get_or_none(id=copy_id).select_related("image__pool")
    if found is not None and found.image.deleted_at is not None:
        await _after_a_deleted_push(found.image)
    return await tickets.ticket(g.node, copy_id, current_app.config["PIXELFOX"])


async def _after_a_deleted_push(image: Image) -> None:
    """The source asks again after a push whose target could not report, and the image
    is deleted: the target's trash job may have run while the push's files came in and
    missed the last of them. Every pool's files follow into the trash once more (the jobs
    are idempotent), so none stays served. Only for a node holding a copy of the image."""
    holds = await ImageCopy.filter(image_id=image.id, pool__node_id=g.node.node_id).exists()
    if holds:
        redis, keys = current_app.extensions["redis"], current_app.extensions["keys"]
        await follow(image, redis, keys)


@blueprint.post(_rule(COPY_GRANT_PATH))
@node_required
@validate_request(MoveGrantRequest)
@validate_response(MoveGrant)
@raises(
    "NOT_FOUND",
    "POOL_NOT_ON_NODE",
    "COPY_NOT_PENDING",
    "MOVE_FILE_UNKNOWN",
    "CHECKSUM_MISMATCH",
    "VISIBILITY_CHANGING",
    "BAD_REQUEST",
    "UNAVAILABLE",
)
async def copy_grant(copy_id: int, data: MoveGrantRequest) -> MoveGrant:
    """A replication grant for exactly these files of a pending copy (internal)."""
    return await tickets.grant(g.node, copy_id, data, current_app.config["PIXELFOX"])


@blueprint.post(_rule(COPY_VERIFIED_PATH))
@node_required
@validate_request(CopyReport)
@validate_response(CopyRecorded)
@raises("NOT_FOUND", "POOL_NOT_ON_NODE", "MOVE_FILE_UNKNOWN", "CHECKSUM_MISMATCH")
async def copy_verified(copy_id: int, data: CopyReport) -> CopyRecorded:
    """The target node holds and verified every file of the copy (internal)."""
    redis, keys = current_app.extensions["redis"], current_app.extensions["keys"]
    found = await ImageCopy.get_or_none(id=copy_id).select_related("image__pool", "pool")
    if found is not None and node_of(found.pool) == g.node.node_id:
        if found.image.deleted_at:
            # A push that ended after its image was deleted: its files follow it into
            # the trash (and the answer is NOT_FOUND), so no copy comes back to life.
            await follow(found.image, redis, keys)
        elif _in_another_subtree(found.image, data):
            # A push with a grant minted before a visibility change, which wrote
            # after that pool's visibility job had run: the files go where the row
            # wants them (and the report of the old paths is refused: the copy
            # stays pending until a push reports the image's paths).
            await enqueue_subtree(redis, keys, found.image, found.pool)
    recorded = await tickets.verified(g.node, copy_id, data)
    await throttle.ended(redis, keys, copy_id)  # a repair push's slot is free again
    if found is not None:
        # One more verified copy: a surplus one (a factor lowered, a drained pool) may go.
        await surplus.trim(await Image.get(id=found.image.id), redis, keys)
    return recorded


def _in_another_subtree(image: Image, report: CopyReport) -> bool:
    """Whether any reported file lies outside the subtree the image's row wants."""
    wanted = (image.visibility_target or image.visibility) == Visibility.PRIVATE
    return any(layout.is_private(f.path) != wanted for f in report.files)
