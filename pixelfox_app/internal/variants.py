"""Recording the variants a node made, and the image's final state."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from pixelfox_protocol import layout
from pixelfox_protocol.errors import APIError
from pixelfox_protocol.internal import VariantReport
from pixelfox_protocol.layout import UnsafePath

from ..models import Image, ImageState, ImageVariant, StorageNode, StoragePool
from ..nodes import node_of

log = logging.getLogger(__name__)


def check_variant_path(path: str) -> None:
    """A pool-relative variant path, in the public or the private subtree; else BAD_REQUEST.

    Either subtree is accepted whatever the image's visibility: a node makes
    variants where the original is *now*, which during a visibility change may
    be ahead of the database (the change's report then switches every row).
    """
    try:
        kind = layout.check(path).parts[0]
    except UnsafePath as exc:
        raise APIError("BAD_REQUEST", f"Not a pool-relative variant path: {path!r}") from exc
    if kind != "variants":
        raise APIError("BAD_REQUEST", f"Not a pool-relative variant path: {path!r}")


async def own_image(node: StorageNode, image_uuid: str) -> Image:
    """The image (pool loaded) if it lives on a pool of ``node``; NOT_FOUND, POOL_NOT_ON_NODE."""
    try:
        key = uuid.UUID(image_uuid)
    except ValueError as exc:
        raise APIError("NOT_FOUND") from exc
    image = await Image.get_or_none(uuid=key).select_related("pool")
    if image is None:
        raise APIError("NOT_FOUND")
    if node_of(image.pool) != node.node_id:
        raise APIError("POOL_NOT_ON_NODE")
    return image


async def own_pool(node: StorageNode, pool_id: int) -> StoragePool:
    """The pool if it is on ``node``; NOT_FOUND, POOL_NOT_ON_NODE."""
    pool = await StoragePool.get_or_none(id=pool_id)
    if pool is None:
        raise APIError("NOT_FOUND")
    if node_of(pool) != node.node_id:
        raise APIError("POOL_NOT_ON_NODE")
    return pool


async def record_variants(node: StorageNode, image_uuid: str, report: VariantReport) -> Image:
    """Upsert one row per (kind, format) and flip the image to ready or failed.

    Idempotent, so a node may resend a report after a lost answer.
    """
    image = await own_image(node, image_uuid)
    for variant in report.variants:
        check_variant_path(variant.path)
    state = ImageState.READY if report.state == "ready" else ImageState.FAILED
    async with in_transaction() as connection:
        for variant in report.variants:
            await ImageVariant.update_or_create(
                defaults={
                    "pool_id": image.pool.id,
                    "path": variant.path,
                    "size": variant.size,
                    "sha256": variant.sha256,
                    "width": variant.width,
                    "height": variant.height,
                },
                using_db=connection,
                image_id=image.id,
                kind=variant.kind[:32],
                format=variant.format[:8],
            )
        await (
            Image.filter(id=image.id)
            .using_db(connection)
            .update(state=state, processed_at=datetime.now(UTC))
        )
    if state == ImageState.FAILED:
        log.warning("processing failed image=%s node=%s: %s", image.uuid, node, report.error)
    image.state = state
    return image
