"""The Trash page ``/trash``, the image page's delete button and "My images"' multi-select.

Deleting from the image page (or several from "My images") sends the browser
to the Trash page, which lists the deleted images (an admin sees everyone's)
with when each may be purged, a Restore and a "Delete now" button. Both
buttons post with htmx and get the row back alone: gone after a restore,
marked after "Delete now".
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, current_app, g, redirect, request

from pixelfox_protocol.errors import APIError

from ...images.trash import delete_image, may_delete, restore_image, retention, start_purge
from ...models import Image
from ..access import page_login_required
from ..render import error_page, is_htmx, page

blueprint = Blueprint("trash_pages", __name__)

PAGE_LIMIT = 200
# Most images one "Delete selected" takes (a page of "My images" shows 24).
SELECT_LIMIT = 100


def _queues() -> tuple[Any, Any]:
    return current_app.extensions["redis"], current_app.extensions["keys"]


async def _own(short_id: str) -> Image | None:
    """An image the user may delete, restore or purge (deleted ones included)."""
    image = await Image.get_or_none(short_id=short_id).select_related("pool", "owner")
    if image is None or not may_delete(image, g.user):
        return None
    return image


async def _row(image: Image, error: str = "") -> str:
    kept = await retention()
    return await page("trash/_row.html", image=image, kept=kept, error=error)


def _not_found() -> Any:
    return error_page(404, "Not found", "There is no image at this address.")


@blueprint.post("/i/<short_id>/delete")
@page_login_required
async def delete_from_page(short_id: str):
    """The image page's Delete button: into the trash, then to the Trash page."""
    image = await _own(short_id)
    if image is None or image.deleted_at is not None:
        return await _not_found()
    await delete_image(image, g.user, *_queues(), g.get("request_id", ""))
    return _to_trash()


def _to_trash() -> Any:
    if is_htmx():
        done = Response("", 200)
        done.headers["HX-Redirect"] = "/trash"
        return done
    return redirect("/trash")


@blueprint.post("/images/delete")
@page_login_required
async def delete_selected():
    """ "My images"' Delete selected: every ticked image the user may delete, into the trash."""
    chosen = (await request.form).getlist("image")[:SELECT_LIMIT]
    for short_id in dict.fromkeys(chosen):
        image = await _own(short_id)
        if image is not None and image.deleted_at is None:
            await delete_image(image, g.user, *_queues(), g.get("request_id", ""))
    return _to_trash()


@blueprint.get("/trash")
@page_login_required
async def trash():
    """Deleted images, most recently deleted first: the user's own, an admin's all."""
    query = Image.filter(deleted_at__isnull=False)
    if not g.user.is_admin:
        query = query.filter(owner_id=g.user.id)
    rows = await query.order_by("-deleted_at", "-id").limit(PAGE_LIMIT).select_related("owner")
    return await page(
        "trash/index.html", images=rows, kept=await retention(), total=await query.count()
    )


@blueprint.post("/trash/<short_id>/restore")
@page_login_required
async def restore(short_id: str):
    """Back out of the trash: its row leaves the list."""
    image = await _own(short_id)
    if image is None or image.deleted_at is None:
        return await _not_found()
    try:
        await restore_image(image, *_queues(), g.get("request_id", ""))
    except APIError as exc:
        return await _row(image, exc.message) if is_htmx() else redirect("/trash")
    return "" if is_htmx() else redirect("/trash")


@blueprint.post("/trash/<short_id>/purge")
@page_login_required
async def purge_now(short_id: str):
    """Delete for good now, without waiting for the retention to end."""
    image = await _own(short_id)
    if image is None or image.deleted_at is None:
        return await _not_found()
    await start_purge(image, *_queues(), g.get("request_id", ""))
    image = await Image.get(id=image.id).select_related("pool", "owner")
    return await _row(image) if is_htmx() else redirect("/trash")
