"""The upload page for visitors when guests may upload, and the delete link's page."""

from __future__ import annotations

import hashlib
import json
import re

from pixelfox_app import knobs
from pixelfox_app.models import GuestUpload, Image
from pixelfox_app.upload.guest import guest_user
from tests.web.album_rows import ready_image
from tests.web.conftest import Web, text_of


def _config(html: str) -> dict[str, object]:
    found = re.search(r'<script type="application/json" id="upload-config">(.*?)</script>', html)
    assert found is not None
    config: dict[str, object] = json.loads(found.group(1))
    return config


async def _guest_image(web: Web, key: str) -> Image:
    """A stored guest upload whose delete key is ``key``."""
    image = await ready_image(await guest_user(), await web.pool(), "guestpic")
    await GuestUpload.create(
        image_uuid=image.uuid, delete_hash=hashlib.sha256(key.encode()).hexdigest()
    )
    return image


async def test_without_guest_uploads_a_visitor_is_sent_to_log_in(web: Web):
    upload = await web.client.get("/upload")
    home = await web.client.get("/")
    assert upload.status_code == 302
    assert upload.headers["Location"] == "/login?next=/upload"
    assert home.headers["Location"] == "/login"


async def test_with_guest_uploads_a_visitor_gets_the_guest_upload_page(web: Web):
    await knobs.put("guest_uploads", True)
    await knobs.put("guest_max_upload_bytes", 3 << 20)
    home = await web.client.get("/")
    status, html = await web.get("/upload")

    assert home.headers["Location"] == "/upload"
    assert status == 200
    config = _config(html)
    assert config["guest"] is True
    assert config["sessionUrl"] == "/api/v1/upload/guest/sessions"
    assert config["maxBytes"] == 3 << 20
    assert 'id="dropzone"' in html
    assert "delete link" in text_of(html)
    assert 'value="private"' not in html  # guests upload public or unlisted only


async def test_a_logged_in_user_gets_their_own_upload_page_even_with_guests_on(web: Web):
    await knobs.put("guest_uploads", True)
    await web.user("ada")
    await web.login("ada")
    status, html = await web.get("/upload")
    config = _config(html)
    assert status == 200
    assert (config["guest"], config["sessionUrl"]) == (False, "/api/v1/upload/sessions")
    assert 'id="guest-note"' not in html and 'value="private"' in html


async def test_the_delete_link_page_asks_first_then_deletes_once(web: Web):
    image = await _guest_image(web, "k" * 43)
    status, asking = await web.get(f"/guest/delete/{'k' * 43}")
    assert status == 200
    assert "Delete guestpic.jpg?" in text_of(asking)
    assert (await Image.get(id=image.id)).deleted_at is None  # opening the link deletes nothing

    done = await web.post(f"/guest/delete/{'k' * 43}", {})
    again = await web.post(f"/guest/delete/{'k' * 43}", {})
    wrong, _ = await web.get(f"/guest/delete/{'x' * 43}")

    assert done.status_code == 200
    assert "guestpic.jpg is deleted" in text_of(await done.get_data(as_text=True))
    assert (await Image.get(id=image.id)).deleted_at is not None
    assert again.status_code == 404
    assert wrong == 404
