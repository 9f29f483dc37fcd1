"""The public gallery ``/gallery``: public images, newest first, a page at a time.

Only ``public`` images that are ready and not in the trash: unlisted ones are
for whoever has their link, private ones for their owner. Pages are keyset
(``?before=<id>``), so a gallery of millions costs the same per page; the
"Load more" button fetches the next tiles with htmx and swaps itself for them
(without JavaScript it is a link to the next page).
"""

from __future__ import annotations

from quart import Blueprint, request

from ...auth.decorators import public
from ...models import Image, ImageState, Visibility
from ..render import page
from .images import image_cards

blueprint = Blueprint("gallery", __name__)

PAGE_SIZE = 30


@blueprint.get("/gallery")
@public
async def gallery():
    """Public images, newest first; ``before`` is the id the previous page ended at."""
    query = Image.filter(
        visibility=Visibility.PUBLIC, state=ImageState.READY, deleted_at__isnull=True
    )
    before = request.args.get("before", "")
    if before.isdigit():
        query = query.filter(id__lt=int(before))
    rows = list(await query.order_by("-id").limit(PAGE_SIZE + 1).select_related("pool"))
    more = rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None
    cards = await image_cards(rows[:PAGE_SIZE])
    return await page("gallery/index.html", "gallery/_tiles.html", cards=cards, more=more)
