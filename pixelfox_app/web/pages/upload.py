"""The upload page: many files by drag-and-drop, picker or paste, straight to a storage node.

The page embeds the operator's limits as JSON (read by ``upload.js``), so the
browser refuses what the server would refuse before sending a byte. The
server stays the judge: every limit is checked again there.

When the operator allows guest uploads, a visitor who is not logged in gets
the same page in guest mode: the guests' session API and stricter size
limit, public or unlisted only, and each stored file's delete link shown in
its row, this once (``pixelfox_app.upload.guest``).
"""

from __future__ import annotations

import json

from quart import Blueprint, g, redirect, request

from ... import knobs
from ...albums.ops import album_choices
from ...auth.current import current_user
from ...auth.decorators import public
from ...images import urls
from ...models import User
from ..render import page

blueprint = Blueprint("upload_page", __name__)

SESSIONS_PATH = "/api/v1/upload/sessions"
GUEST_SESSIONS_PATH = "/api/v1/upload/guest/sessions"
ALBUMS_PATH = "/api/v1/albums/{album}/images"


async def upload_config(guest: bool = False) -> dict[str, object]:
    """What upload.js needs to know: mode, limits and the API paths (a guest's, for a guest)."""
    values = await knobs.get_all()
    max_bytes = int(values["max_upload_bytes"])
    if guest:
        max_bytes = min(max_bytes, int(values["guest_max_upload_bytes"]))
    return {
        "direct": bool(values["direct_upload"]),
        "guest": guest,
        "maxBytes": max_bytes,
        # Larger files go resumably over tus to the node's tus_url (upload-tus.js).
        "resumableBytes": int(values["resumable_upload_bytes"]),
        "allowedTypes": list(values["allowed_types"]),
        "sessionUrl": GUEST_SESSIONS_PATH if guest else SESSIONS_PATH,
        "proxyUrl": urls.PROXY_UPLOAD_PATH,
        "statusUrl": urls.STATUS_PATH,
        "albumImagesUrl": ALBUMS_PATH,
        "concurrency": 3,
    }


async def _visitor() -> User | None:
    user = await current_user()
    return user if user is not None and user.is_active else None


async def _guests_welcome() -> bool:
    return bool(await knobs.get("guest_uploads"))


@blueprint.get("/")
@public
async def home():
    """Logged in (or guest uploads on): the upload page; otherwise the login form."""
    if await _visitor() is not None or await _guests_welcome():
        return redirect("/upload")
    return redirect("/login")


@blueprint.get("/upload")
@public
async def upload_page():
    """The drag-and-drop upload page; for a visitor, the guest's one when guests may upload."""
    user = await _visitor()
    if user is None and not await _guests_welcome():
        return redirect("/login?next=/upload")
    g.user = user
    config = await upload_config(guest=user is None)
    # The JSON sits in a <script type="application/json"> block: never executed,
    # so the CSP needs no inline-script allowance; "<" is escaped so no value can
    # close the block early.
    config_json = json.dumps(config).replace("<", "\\u003c")
    # The album picker: finished uploads are added to the chosen one (upload.js).
    albums = await album_choices(user) if user is not None else []
    return await page(
        "upload/index.html",
        config=config,
        config_json=config_json,
        albums=albums,
        album_chosen=request.args.get("album", ""),
        guest=user is None,
    )
