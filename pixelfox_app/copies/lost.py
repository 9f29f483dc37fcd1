"""``pixelfox nodes lost <node>``: a node declared dead, and what that means for its copies.

In this order, so no image is ever without a row pointing at bytes:

1. the node and its pools leave service (inactive, no upload target: placement
   and reads skip them);
2. every copy on its pools becomes ``lost``;
3. every image whose primary was there switches, with its variants on that
   pool, to a surviving verified copy (the oldest one) in one transaction;
   an image with none stays where it is (its only copy was there: the S3
   backup is what is left, see ``pixelfox restore``);
4. the images that lost a copy are filled up to their factor again from a
   verified copy, newest first, so fresh uploads get their second copy first:
   at most ``repair_jobs_per_node`` pushes per source node now, the rest by
   the control worker's copy check as those end (``copies.throttle``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from arq.connections import ArqRedis
from tortoise.transactions import in_transaction

from pixelfox_protocol.keys import RedisKeys

from ..models import CopyState, Image, ImageCopy, ImageVariant, StorageNode, StoragePool
from .replicas import fill
from .throttle import RepairBudget

log = logging.getLogger(__name__)


@dataclass
class LostNode:
    node_id: str
    pools: list[str] = field(default_factory=list)
    copies_lost: int = 0
    primaries_switched: int = 0
    without_copy: list[str] = field(default_factory=list)  # image uuids
    jobs_queued: int = 0


async def declare_lost(node_id: str, redis: ArqRedis, keys: RedisKeys) -> LostNode:
    """Mark the node's copies lost, switch its primaries, queue the repairs."""
    node = await StorageNode.get_or_none(node_id=node_id)
    if node is None:
        raise ValueError(f"unknown node {node_id!r}")
    result = LostNode(node_id)
    await StorageNode.filter(id=node.id).update(is_active=False)
    pools = await StoragePool.filter(node_id=node_id)
    pool_ids = [p.id for p in pools]
    result.pools = [p.name for p in pools]
    await StoragePool.filter(id__in=pool_ids).update(is_active=False, is_upload_target=False)
    held = ImageCopy.filter(pool_id__in=pool_ids).exclude(state=CopyState.LOST)
    affected: set[int] = {int(row["image_id"]) for row in await held.values("image_id")}
    result.copies_lost = await held.update(state=CopyState.LOST)
    for image in await Image.filter(pool_id__in=pool_ids).order_by("-created_at"):
        affected.add(image.id)
        if await _switch_primary(image, set(pool_ids)):
            result.primaries_switched += 1
        else:
            result.without_copy.append(str(image.uuid))
    budget = await RepairBudget.from_knob(redis, keys)
    for image in await Image.filter(id__in=list(affected)).order_by("-created_at", "-id"):
        result.jobs_queued += await fill(image, redis, keys, budget=budget)
    log.warning(
        "node %s declared lost: %d copies lost, %d primaries switched, %d images without a copy",
        node_id,
        result.copies_lost,
        result.primaries_switched,
        len(result.without_copy),
    )
    return result


async def _switch_primary(image: Image, lost_pools: set[int]) -> bool:
    """Point the image (and its variants on the lost pool) at its oldest verified copy."""
    survivor = (
        await ImageCopy.filter(image_id=image.id, state=CopyState.VERIFIED)
        .exclude(pool_id__in=list(lost_pools))
        .order_by("id")
        .first()
    )
    if survivor is None:
        return False
    old = image.pool_id  # type: ignore[attr-defined]
    new = survivor.pool_id  # type: ignore[attr-defined]
    async with in_transaction() as connection:
        await Image.filter(id=image.id, pool_id=old).using_db(connection).update(pool_id=new)
        await (
            ImageVariant.filter(image_id=image.id, pool_id=old)
            .using_db(connection)
            .update(pool_id=new)
        )
    log.info("image %s: primary switched from pool %s to %s", image.uuid, old, new)
    return True
