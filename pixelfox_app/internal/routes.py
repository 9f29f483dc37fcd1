"""The internal API that storage nodes call, authenticated by each node's credential."""

from __future__ import annotations

from pydantic import BaseModel
from quart import Blueprint, current_app, g
from quart_schema import tag_blueprint, validate_request, validate_response

from pixelfox_protocol.errors import APIError
from pixelfox_protocol.internal import (
    ADOPT_PATH,
    HEARTBEAT_PATH,
    NODE_CONFIG_PATH,
    UPLOAD_COMPLETE_PATH,
    VARIANTS_PATH,
    VISIBILITY_PATH,
    AdoptProposal,
    AdoptResult,
    Heartbeat,
    NodeConfig,
    UploadCompletion,
    UploadResult,
    VariantReport,
    VisibilityReport,
)

from ..auth import node_required
from ..copies.replicas import after_processing
from ..models import StorageNode
from ..upload.completion import complete_upload
from .adopt import adopt_upload
from .heartbeat import node_config, record_heartbeat
from .variants import record_variants
from .visibility import record_visibility

blueprint = Blueprint("internal", __name__)
# Marked in the OpenAPI document: browsers and scripts never call these.
tag_blueprint(blueprint, ["internal"])


class VisibilityRecorded(BaseModel):
    image_uuid: str
    visibility: str
    path: str


class VariantsRecorded(BaseModel):
    image_uuid: str
    state: str
    variants: int


def _node() -> StorageNode:
    node: StorageNode = g.node
    return node


@blueprint.get(NODE_CONFIG_PATH)
@node_required
@validate_response(NodeConfig)
async def get_node_config() -> NodeConfig:
    """The pools this node holds (internal: storage nodes only)."""
    return await node_config(_node())


@blueprint.post(UPLOAD_COMPLETE_PATH)
@node_required
@validate_request(UploadCompletion)
@validate_response(UploadResult)
async def upload_complete(data: UploadCompletion) -> UploadResult:
    """A node stored an upload: create the image and queue its processing (internal)."""
    return await complete_upload(data, _node().node_id)


@blueprint.post(ADOPT_PATH)
@node_required
@validate_request(AdoptProposal)
@validate_response(AdoptResult)
async def adopt(data: AdoptProposal) -> AdoptResult:
    """A node offers an original whose row a restore lost, with its upload token (internal)."""
    return await adopt_upload(data, _node())


@blueprint.post(VARIANTS_PATH.replace("{image_uuid}", "<image_uuid>"))
@node_required
@validate_request(VariantReport)
@validate_response(VariantsRecorded)
async def variants_done(image_uuid: str, data: VariantReport) -> VariantsRecorded:
    """A node processed an image: record its variants and final state (internal)."""
    image = await record_variants(_node(), image_uuid, data)
    # The primary's copy row, then the replicas (pushed by the node's background lane).
    redis, keys = current_app.extensions["redis"], current_app.extensions["keys"]
    await after_processing(image, redis, keys, g.get("request_id", ""))
    return VariantsRecorded(
        image_uuid=str(image.uuid), state=str(image.state), variants=len(data.variants)
    )


@blueprint.post(VISIBILITY_PATH.replace("{image_uuid}", "<image_uuid>"))
@node_required
@validate_request(VisibilityReport)
@validate_response(VisibilityRecorded)
async def visibility_moved(image_uuid: str, data: VisibilityReport) -> VisibilityRecorded:
    """A node moved an image's files between the public and private subtree (internal)."""
    image = await record_visibility(_node(), image_uuid, data)
    return VisibilityRecorded(
        image_uuid=str(image.uuid), visibility=str(image.visibility), path=image.path
    )


@blueprint.post(HEARTBEAT_PATH)
@node_required
@validate_request(Heartbeat)
@validate_response(NodeConfig)
async def heartbeat(data: Heartbeat) -> NodeConfig:
    """A node's periodic report; answered with its current pools (internal)."""
    node = _node()
    if data.node_id != node.node_id:
        raise APIError("FORBIDDEN", "A node reports only for itself.")
    return await record_heartbeat(
        node, data, current_app.extensions["redis"], current_app.extensions["keys"]
    )
