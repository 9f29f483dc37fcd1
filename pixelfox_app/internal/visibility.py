"""Recording a node's report that it moved an image's files between the subtrees.

The app switches the image row and all its variant rows in one transaction,
to the visibility *its own row* asked for (``visibility_target``); the node
only says where the files are. Idempotent: a report resent after a lost
answer finds the image already switched and changes nothing.
"""

from __future__ import annotations

import logging

from tortoise.transactions import in_transaction

from pixelfox_protocol import layout
from pixelfox_protocol.errors import APIError
from pixelfox_protocol.internal import VisibilityReport
from pixelfox_protocol.layout import UnsafePath

from ..models import Image, ImageCopy, ImageVariant, StorageNode, Visibility
from ..nodes import node_of
from .variants import check_variant_path, own_image

log = logging.getLogger(__name__)


def _check_report(image: Image, report: VisibilityReport) -> None:
    try:
        layout.check(report.path)
    except UnsafePath as exc:
        raise APIError("BAD_REQUEST", "The path is not a pool-relative original path.") from exc
    same_file = layout.in_subtree(report.path, False) == layout.in_subtree(image.path, False)
    if not same_file or layout.is_private(report.path) != report.private:
        raise APIError("BAD_REQUEST", "The path is not this image's original in that subtree.")
    for path in report.variants:
        check_variant_path(path)
        if layout.is_private(path) != report.private:
            raise APIError("BAD_REQUEST", f"Variant {path!r} is not in the reported subtree.")


async def record_visibility(node: StorageNode, image_uuid: str, report: VisibilityReport) -> Image:
    """Switch the image and its variants to where the node moved the files.

    A node holding another copy (a replica) moves its files too; its report is
    only acknowledged: the primary's report switches the image.
    """
    try:
        image = await own_image(node, image_uuid)
    except APIError as exc:
        if exc.code != "POOL_NOT_ON_NODE":
            raise
        copies = await ImageCopy.filter(image__uuid=image_uuid).select_related(
            "pool", "image__pool"
        )
        if not any(node_of(copy.pool) == node.node_id for copy in copies):
            raise
        return copies[0].image
    _check_report(image, report)
    target = image.visibility_target
    if target is None or (target == Visibility.PRIVATE) != report.private:
        if report.path == image.path:
            return image  # a resent report of a switch already made
        raise APIError(
            "VISIBILITY_MISMATCH",
            "The image is not being moved to that subtree.",
            details={"visibility": str(image.visibility), "path": report.path},
        )
    async with in_transaction() as connection:
        # Only a row still waiting for this very change is switched (a racing
        # duplicate report waits for this transaction and then changes nothing).
        switched = (
            await Image.filter(id=image.id, visibility_target=target)
            .using_db(connection)
            .update(path=report.path, visibility=target, visibility_target=None)
        )
        if switched:
            variants = await ImageVariant.filter(image_id=image.id, pool_id=image.pool.id).using_db(
                connection
            )
            for variant in variants:
                moved = layout.in_subtree(variant.path, report.private)
                if moved != variant.path:
                    await ImageVariant.filter(id=variant.id).using_db(connection).update(path=moved)
    if switched:
        log.info(
            "visibility switched image=%s to=%s variants=%d",
            image.uuid,
            target,
            len(report.variants),
        )
    return await Image.get(id=image.id).select_related("pool")
