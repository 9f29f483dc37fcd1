"""The delete link of a guest upload, for people: ``/guest/delete/<key>``.

The upload page shows this link once per guest upload. Opening it shows the
image's name and a Delete button (a link alone never deletes: previews and
link checkers open links); the button puts the image in the trash through
the same code as ``POST /api/v1/upload/guest/delete/<key>``.
"""

from __future__ import annotations

from quart import Blueprint

from pixelfox_protocol.errors import APIError

from ...auth.decorators import public
from ...upload.guest import DELETE_PAGE_PATH, delete_by_key, upload_of_key
from ..render import error_page, page

blueprint = Blueprint("guest_pages", __name__)

GONE = "This delete link is not valid, or the image was deleted already."


@blueprint.get(f"{DELETE_PAGE_PATH}<key>")
@public
async def delete_page(key: str):
    """The guest upload's name and a Delete button."""
    image = await upload_of_key(key)
    if image is None:
        return await error_page(404, "Not found", GONE)
    return await page("guest/delete.html", image=image, key=key, deleted=False)


@blueprint.post(f"{DELETE_PAGE_PATH}<key>")
@public
async def delete_now(key: str):
    """Into the trash: its page and files stop answering within seconds."""
    try:
        image = await delete_by_key(key)
    except APIError:
        return await error_page(404, "Not found", GONE)
    return await page("guest/delete.html", image=image, key=key, deleted=True)
