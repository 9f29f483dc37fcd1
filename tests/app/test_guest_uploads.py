"""Guest uploads: off by default; when on, stricter limits and a delete link shown once."""

from __future__ import annotations

import uuid

import pytest

from pixelfox_app.models import GuestUpload, Image, UploadSession, User
from tests.app.conftest import AppServer, GetServer
from tests.image_rows import stored_image

pytestmark = pytest.mark.asyncio(loop_scope="module")

JPEG = {"file_size": 1000, "filename": "cat.jpg", "content_type": "image/jpeg"}
GUEST = "/api/v1/upload/guest/sessions"


async def test_guest_uploads_are_off_by_default(app_server: AppServer):
    await app_server.pool()
    async with app_server.client() as visitor:
        response = await visitor.post(GUEST, json=JPEG)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "GUEST_UPLOADS_OFF"
    assert await UploadSession.all().count() == 0


async def test_a_guest_session_belongs_to_the_disabled_guest_account_and_brings_a_delete_link(
    app_server: AppServer,
):
    await app_server.pool()
    await app_server.knob("guest_uploads", True)
    async with app_server.client() as visitor:
        response = await visitor.post(GUEST, json=JPEG)
        login = await visitor.post(
            "/api/v1/auth/login", json={"username": "~guest", "password": "!"}
        )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["visibility"] == "unlisted"
    assert body["upload_url"] == "http://s01.pixelfox.test/api/internal/upload"
    key = body["delete_url"].rsplit("/", 1)[1]
    assert body["delete_url"] == f"{app_server.url}/api/v1/upload/guest/delete/{key}"
    session = await UploadSession.get(id=uuid.UUID(body["session_id"])).select_related("user")
    assert (session.user.username, session.user.is_active) == ("~guest", False)
    row = await GuestUpload.get(image_uuid=session.image_uuid)
    assert key not in row.delete_hash and len(row.delete_hash) == 64
    assert login.status_code == 401


async def test_guests_get_the_stricter_size_limit_and_no_private_uploads(app_server: AppServer):
    await app_server.pool()
    await app_server.knob("guest_uploads", True)
    await app_server.knob("guest_max_upload_bytes", 500)
    async with app_server.client() as visitor:
        large = await visitor.post(GUEST, json=JPEG)
        private = await visitor.post(GUEST, json={**JPEG, "file_size": 10, "visibility": "private"})
    assert (large.status_code, large.json()["error"]["code"]) == (413, "FILE_TOO_LARGE")
    assert large.json()["error"]["details"] == {"max_bytes": 500}
    assert private.status_code == 422
    assert await UploadSession.all().count() == 0


async def test_guests_are_rate_limited_per_address_by_their_own_limit(app_with: GetServer):
    app = await app_with(trusted_proxies="127.0.0.1")
    await app.pool()
    await app.knob("guest_uploads", True)
    await app.knob("guest_rate_limit_per_minute", 2)
    async with app.client() as visitor:
        mine = [
            (await visitor.post(GUEST, json=JPEG, headers={"X-Forwarded-For": "203.0.113.7"}))
            for _ in range(3)
        ]
        other = await visitor.post(GUEST, json=JPEG, headers={"X-Forwarded-For": "203.0.113.8"})
    assert [r.status_code for r in mine] == [201, 201, 429]
    assert other.status_code == 201


async def test_the_delete_link_puts_the_guests_image_in_the_trash_once(app_server: AppServer):
    pool = await app_server.pool()
    await app_server.knob("guest_uploads", True)
    async with app_server.client() as visitor:
        body = (await visitor.post(GUEST, json=JPEG)).json()
        # The upload completes: the image row the node's report makes.
        guest = await User.get(username="~guest")
        image = await stored_image(guest, pool, 1000, [])
        await Image.filter(id=image.id).update(uuid=uuid.UUID(body["image_uuid"]))
        wrong = await visitor.post(body["delete_url"][:-4] + "AAAA")
        deleted = await visitor.post(body["delete_url"])
        again = await visitor.post(body["delete_url"])

    assert wrong.status_code == 404
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["image_uuid"] == body["image_uuid"]
    assert (await Image.get(id=image.id)).deleted_at is not None
    assert again.status_code == 404
