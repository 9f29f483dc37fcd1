"""The internal API of a move job on the source node: ticket, grant, switch, outcome;
the batch job's tickets and switch."""

from __future__ import annotations

from pydantic import BaseModel
from quart import Blueprint, current_app, g
from quart_schema import tag_blueprint, validate_request, validate_response

from pixelfox_common.web import raises
from pixelfox_protocol.internal import (
    MOVE_BATCH_PATH,
    MOVE_BATCH_SWITCH_PATH,
    MOVE_GRANT_PATH,
    MOVE_IMAGE_PATH,
    MOVE_OUTCOME_PATH,
    MOVE_SWITCH_PATH,
    MoveBatchRequest,
    MoveBatchSwitch,
    MoveBatchSwitched,
    MoveBatchTicket,
    MoveGrant,
    MoveGrantRequest,
    MoveOutcome,
    MoveSwitch,
    MoveSwitched,
    MoveTicket,
)

from ..auth import node_required
from ..moves import batches, tickets

blueprint = Blueprint("internal_moves", __name__)
tag_blueprint(blueprint, ["internal"])


def _rule(path: str) -> str:
    return path.replace("{move_id}", "<int:move_id>").replace("{image_id}", "<int:image_id>")


class OutcomeRecorded(BaseModel):
    counted: bool


@blueprint.get(_rule(MOVE_IMAGE_PATH))
@node_required
@validate_response(MoveTicket)
@raises("NOT_FOUND", "POOL_NOT_ON_NODE", "VISIBILITY_CHANGING", "UNAVAILABLE")
async def move_ticket(move_id: int, image_id: int) -> MoveTicket:
    """What the source node copies for one image of a move, with the target's grant (internal)."""
    return await tickets.ticket(g.node, move_id, image_id, current_app.config["PIXELFOX"])


@blueprint.post(_rule(MOVE_GRANT_PATH))
@node_required
@validate_request(MoveGrantRequest)
@validate_response(MoveGrant)
@raises(
    "NOT_FOUND",
    "POOL_NOT_ON_NODE",
    "MOVE_NOT_RUNNING",
    "MOVE_ITEM_UNKNOWN",
    "MOVE_FILE_UNKNOWN",
    "CHECKSUM_MISMATCH",
    "VISIBILITY_CHANGING",
    "BAD_REQUEST",
    "UNAVAILABLE",
)
async def move_grant(move_id: int, image_id: int, data: MoveGrantRequest) -> MoveGrant:
    """A replication grant for exactly these files of an image of a running move (internal)."""
    return await tickets.grant(g.node, move_id, image_id, data, current_app.config["PIXELFOX"])


@blueprint.post(_rule(MOVE_SWITCH_PATH))
@node_required
@validate_request(MoveSwitch)
@validate_response(MoveSwitched)
@raises("NOT_FOUND", "POOL_NOT_ON_NODE", "CHECKSUM_MISMATCH")
async def move_switch(move_id: int, image_id: int, data: MoveSwitch) -> MoveSwitched:
    """The copies are verified: point the image and its variants at the target (internal)."""
    redis, keys = current_app.extensions["redis"], current_app.extensions["keys"]
    return await tickets.switch(g.node, move_id, image_id, data, redis, keys)


@blueprint.post(_rule(MOVE_OUTCOME_PATH))
@node_required
@validate_request(MoveOutcome)
@validate_response(OutcomeRecorded)
@raises("NOT_FOUND", "POOL_NOT_ON_NODE")
async def move_outcome(move_id: int, image_id: int, data: MoveOutcome) -> OutcomeRecorded:
    """An image of a move was skipped or failed (internal)."""
    redis, keys = current_app.extensions["redis"], current_app.extensions["keys"]
    counted = await tickets.outcome(g.node, move_id, image_id, data, redis, keys)
    return OutcomeRecorded(counted=counted)


@blueprint.post(_rule(MOVE_BATCH_PATH))
@node_required
@validate_request(MoveBatchRequest)
@validate_response(MoveBatchTicket)
@raises("NOT_FOUND", "POOL_NOT_ON_NODE", "UNAVAILABLE")
async def move_batch_ticket(move_id: int, data: MoveBatchRequest) -> MoveBatchTicket:
    """The tickets of a batch of a move's images, and those it gets none for (internal)."""
    settings = current_app.config["PIXELFOX"]
    return await batches.batch_ticket(g.node, move_id, data.image_ids, settings)


@blueprint.post(_rule(MOVE_BATCH_SWITCH_PATH))
@node_required
@validate_request(MoveBatchSwitch)
@validate_response(MoveBatchSwitched)
@raises("NOT_FOUND", "POOL_NOT_ON_NODE")
async def move_batch_switch(move_id: int, data: MoveBatchSwitch) -> MoveBatchSwitched:
    """The batch's copies are verified: switch them all in one transaction (internal)."""
    redis, keys = current_app.extensions["redis"], current_app.extensions["keys"]
    return await batches.batch_switch(g.node, move_id, data, redis, keys)
