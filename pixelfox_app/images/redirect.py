"""``GET /f/<pool>/<path>``: where a storage node's nginx sends a request for a file it lacks.

A URL cached in a browser or a CDN names the node that held the file when the
URL was handed out. Once the image moved, that copy was lost or the node was
replaced, the node's nginx misses and answers 302 here, naming its own pool.
This route answers 302 to a live copy: the file's primary while its node's
heartbeat is fresh, else a verified copy on a node whose heartbeat is (as
``copies.reads`` chooses for the URLs the app hands out), never the pool that
asked, which has just missed. The target carries ``redirected=1``: a node that
misses that request too answers a plain 404 instead of sending the client
round again.

Only public files are redirected: nginx sends no path of the private subtree
here, and an image that is private (or becoming so) or in the trash is
NOT_FOUND, as at its node. The answer may be cached for 15 s, as long as a
quiet node takes to leave the URLs the app hands out.
"""

from __future__ import annotations

from quart import Blueprint, Response, current_app

from pixelfox_protocol import layout
from pixelfox_protocol.errors import APIError
from pixelfox_protocol.links import REDIRECT_PREFIX, REDIRECTED_PARAM

from .. import knobs
from ..auth import public
from ..auth.ratelimit import rate_limits, request_client_address
from ..copies.reads import READ_FRESH_SECONDS, alive_nodes
from ..models import CopyState, Image, ImageCopy, ImageVariant, StoragePool, Visibility
from ..nodes import node_of
from . import urls
from .lookup import image_by_uuid

blueprint = Blueprint("file_redirect", __name__)

# As long as a quiet node may take to leave the URLs the app hands out (docs/copies.md).
CACHE_SECONDS = 15
# A client told "no live copy" asks again once a quiet node could be beating again.
RETRY_SECONDS = int(READ_FRESH_SECONDS)


async def _image_of(relative: str) -> Image:
    """The image ``relative`` (a public pool-relative path of the layout) is a file of."""
    try:
        image_uuid = layout.image_file(relative)
    except layout.UnsafePath as exc:
        raise APIError("NOT_FOUND") from exc
    if layout.is_private(relative):
        raise APIError("NOT_FOUND")
    image = await image_by_uuid(image_uuid)
    hidden = image.deleted_at is not None or Visibility.PRIVATE in (
        image.visibility,
        image.visibility_target,
    )
    if hidden:
        raise APIError("NOT_FOUND")
    return image


async def _holders(image: Image, relative: str) -> list[StoragePool]:
    """The pools that hold ``relative``, the file's primary first, then the verified copies."""
    if relative == image.path:
        primary = image.pool
    else:
        variant = await ImageVariant.get_or_none(image_id=image.id, path=relative).select_related(
            "pool"
        )
        if variant is None:
            raise APIError("NOT_FOUND")
        # A variant may sit on another pool than its original while a move runs.
        primary = variant.pool
    copies = await ImageCopy.filter(image_id=image.id, state=CopyState.VERIFIED).select_related(
        "pool"
    )
    others = [c.pool for c in sorted(copies, key=lambda c: c.id) if c.pool.is_active]
    return [primary, *(pool for pool in others if pool.id != primary.id)]


async def live_pool(image: Image, relative: str, asking: str) -> StoragePool:
    """The pool a request for ``relative`` that missed on pool ``asking`` goes to; NO_LIVE_COPY."""
    holders = [pool for pool in await _holders(image, relative) if pool.name != asking]
    alive = await alive_nodes(
        current_app.extensions["redis"],
        current_app.extensions["keys"],
        {node_of(pool) for pool in holders},
    )
    for pool in holders:
        if node_of(pool) in alive:
            return pool
    raise APIError(
        "NO_LIVE_COPY",
        headers={"Retry-After": str(RETRY_SECONDS), "Cache-Control": "no-store"},
    )


@blueprint.get(f"{REDIRECT_PREFIX}<pool_name>/<path:relative>")
@public
async def file_elsewhere(pool_name: str, relative: str) -> Response:
    """302 to a live copy of a public file that pool ``pool_name`` lacks (see the module)."""
    per_minute = int(await knobs.get("redirect_rate_limit_per_minute"))
    await rate_limits().hit("redirect-ip", per_minute, request_client_address())
    image = await _image_of(relative)
    pool = await live_pool(image, relative, pool_name)
    url = urls.file_url(pool, relative, current_app.config["PIXELFOX"])
    return Response(
        status=302,
        headers={
            "Location": f"{url}?{REDIRECTED_PARAM}=1",
            "Cache-Control": f"public, max-age={CACHE_SECONDS}",
            # Images are read by scripts too (canvas, fetch): every hop of a redirect
            # a browser follows for them must allow it.
            "Access-Control-Allow-Origin": "*",
        },
    )
