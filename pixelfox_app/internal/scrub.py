"""What a scrub on a node compares its disk with: a pool's images and their files.

A node has no database, so ``pixelfox scrub`` and the scheduled scrub ask here
for the pool's images a page at a time, each with its original and every
variant row (path, bytes, SHA-256 as recorded). Only the node that holds the
pool may ask (``POOL_NOT_ON_NODE``).

A pool holds the images whose primary it is and those it has a *verified*
replica of (``ImageCopy``): a replica's files are neither orphans nor left
unchecked. A pending replica is not listed: its files are still coming in, and
a scrub calls them orphans only after the grace period.
"""

from __future__ import annotations

from pydantic import BaseModel, Field
from quart import Blueprint, g
from quart_schema import tag_blueprint, validate_querystring, validate_response
from tortoise.expressions import Q, Subquery

from pixelfox_protocol.internal import POOL_FILES_PATH, PoolFile, PoolFilesPage, PoolImageFiles

from ..auth import node_required
from ..models import CopyState, Image, ImageCopy, ImageVariant, Move, MoveState, StorageNode
from .variants import own_pool

MAX_PAGE = 1000

blueprint = Blueprint("internal_scrub", __name__)
tag_blueprint(blueprint, ["internal"])


class FilesQuery(BaseModel):
    after: int = Field(default=0, ge=0, le=2**31 - 1, description="Image id the page starts after")
    limit: int = Field(default=200, ge=1, le=MAX_PAGE)


@blueprint.get(POOL_FILES_PATH.replace("{pool_id}", "<int:pool_id>"))
@node_required
@validate_querystring(FilesQuery)
@validate_response(PoolFilesPage)
async def pool_files(pool_id: int, query_args: FilesQuery) -> PoolFilesPage:
    """A page of a pool's images in id order with their files, for a scrub (internal)."""
    node: StorageNode = g.node
    await own_pool(node, pool_id)
    # A deleted image's files sit in the pool's .trash/ (or are purged): the scrub
    # must neither miss them at their old paths nor bring them back by a repair.
    replicas = ImageCopy.filter(pool_id=pool_id, state=CopyState.VERIFIED).values("image_id")
    live = Image.filter(Q(pool_id=pool_id) | Q(id__in=Subquery(replicas)), deleted_at__isnull=True)
    images = await live.filter(id__gt=query_args.after).order_by("id").limit(query_args.limit)
    variants: dict[int, list[ImageVariant]] = {}
    if images:
        primary_here = {i.id for i in images if i.pool_id == pool_id}  # type: ignore[attr-defined]
        rows = await ImageVariant.filter(image_id__in=[i.id for i in images]).order_by("id")
        for row in rows:
            image_id = row.image_id  # type: ignore[attr-defined]
            if image_id not in primary_here or row.pool_id == pool_id:  # type: ignore[attr-defined]
                variants.setdefault(image_id, []).append(row)
    moving_in = await Move.filter(
        target_id=pool_id, state__in=(MoveState.PLANNING, MoveState.RUNNING, MoveState.PAUSED)
    ).exists()
    items = [
        PoolImageFiles(
            image_id=image.id,
            image_uuid=str(image.uuid),
            state=str(image.state),
            created_at=image.created_at.isoformat(),
            original=PoolFile(path=image.path, size=image.size, sha256=image.sha256),
            variants=[
                PoolFile(path=v.path, size=v.size, sha256=v.sha256)
                for v in variants.get(image.id, [])
            ],
            kinds=[f"{v.kind}.{v.format}" for v in variants.get(image.id, [])],
        )
        for image in images
    ]
    full = len(images) == query_args.limit
    return PoolFilesPage(
        pool_id=pool_id,
        items=items,
        next_after=images[-1].id if full else None,
        moving_in=moving_in,
        total=await live.count(),
    )
