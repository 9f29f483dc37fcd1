"""The upload page: many files by drag-and-drop, picker or paste, straight to a storage node.

The page embeds the operator's limits as JSON (read by ``upload.js``), so the
browser refuses what the server would refuse before sending a byte. The
server stays the judge: every limit is checked again there.
"""

from __future__ import annotations

import json

from quart import Blueprint, g, redirect, request

from ... import knobs
from ...albums.ops import album_choices
from ...auth.current import current_user
from ...images import urls
from ..access import page_login_required
from ..render import page

blueprint = Blueprint("upload_page", __name__)

SESSIONS_PATH = "/api/v1/upload/sessions"
ALBUMS_PATH = "/api/v1/albums/{album}/images"


async def upload_config() -> dict[str, object]:
    """What upload.js needs to know: mode, limits and the API paths."""
    values = await knobs.get_all()
    return {
        "direct": bool(values["direct_upload"]),
        "maxBytes": int(values["max_upload_bytes"]),
        # Larger files go resumably over tus to the node's tus_url (upload-tus.js).
        "resumableBytes": int(values["resumable_upload_bytes"]),
        "allowedTypes": list(values["allowed_types"]),
        "sessionUrl": SESSIONS_PATH,
        "proxyUrl": urls.PROXY_UPLOAD_PATH,
        "statusUrl": urls.STATUS_PATH,
        "albumImagesUrl": ALBUMS_PATH,
        "concurrency": 3,
    }


@blueprint.get("/")
async def home():
    """Logged in: the upload page; otherwise the login form."""
    user = await current_user()
    return redirect("/upload" if user is not None and user.is_active else "/login")


home.auth_policy = "public"  # type: ignore[attr-defined]


@blueprint.get("/upload")
@page_login_required
async def upload_page():
    """The drag-and-drop upload page."""
    config = await upload_config()
    # The JSON sits in a <script type="application/json"> block: never executed,
    # so the CSP needs no inline-script allowance; "<" is escaped so no value can
    # close the block early.
    config_json = json.dumps(config).replace("<", "\\u003c")
    # The album picker: finished uploads are added to the chosen one (upload.js).
    albums = await album_choices(g.user)
    return await page(
        "upload/index.html",
        config=config,
        config_json=config_json,
        albums=albums,
        album_chosen=request.args.get("album", ""),
    )
