"""Per-user storage quota and default visibility, as the upload session call applies them."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from pixelfox_app.accounts.quota import usage_of
from pixelfox_app.models import UploadSession, User
from tests.app import images
from tests.app.conftest import AppServer
from tests.image_rows import stored_image

pytestmark = pytest.mark.asyncio(loop_scope="module")

JPEG = {"file_size": 1000, "filename": "cat.jpg", "content_type": "image/jpeg"}


async def test_usage_counts_originals_and_variants_per_user_in_one_answer(
    app_on_each_db: AppServer,
):
    pool = await app_on_each_db.pool()
    ada, bob, eve = [await app_on_each_db.user(name) for name in ("ada", "bob", "eve")]
    await stored_image(ada, pool, 1000, [100, 200])
    await stored_image(ada, pool, 500, [])
    await stored_image(bob, pool, 7, [3])

    usage = await usage_of([ada.id, bob.id, eve.id])

    assert (usage[ada.id].images, usage[ada.id].bytes) == (2, 1800)
    assert (usage[bob.id].images, usage[bob.id].bytes) == (1, 10)
    assert (usage[eve.id].images, usage[eve.id].bytes) == (0, 0)


async def test_a_session_that_would_pass_the_quota_is_refused_and_nothing_is_stored(
    app_on_each_db: AppServer,
):
    pool = await app_on_each_db.pool()
    ada = await app_on_each_db.user("ada")
    await User.filter(id=ada.id).update(quota_bytes=3000)
    await stored_image(ada, pool, 1500, [400])  # 1900 used, 1100 free
    async with await app_on_each_db.token_client(ada) as client:
        fits = await client.post("/api/v1/upload/sessions", json=JPEG)
        # The open session's 1000 bytes are spoken for: 100 are left.
        over = await client.post("/api/v1/upload/sessions", json={**JPEG, "file_size": 101})

    assert fits.status_code == 201, fits.text
    assert over.status_code == 403
    error = over.json()["error"]
    assert error["code"] == "QUOTA_EXCEEDED"
    assert "2.9 KB storage" in error["message"]
    assert error["details"] == {"quota_bytes": 3000, "used_bytes": 2900, "file_size": 101}
    assert await UploadSession.filter(user_id=ada.id).count() == 1


async def test_without_a_quota_any_amount_may_be_uploaded(app_server: AppServer):
    pool = await app_server.pool()
    ada = await app_server.user("ada")
    await stored_image(ada, pool, 10 << 30, [])
    async with await app_server.token_client(ada) as client:
        response = await client.post("/api/v1/upload/sessions", json=JPEG)
    assert response.status_code == 201, response.text


async def test_the_proxy_upload_is_held_to_the_quota_too(app_server: AppServer, tmp_path: Path):
    await app_server.pool("local", "local", base_path=str(tmp_path), public_base_url="")
    await app_server.knob("direct_upload", False)
    ada = await app_server.user("ada")
    await User.filter(id=ada.id).update(quota_bytes=10)
    async with await app_server.token_client(ada) as client:
        response = await client.post(
            "/api/v1/upload", files={"file": ("cat.jpg", images.jpeg(), "image/jpeg")}
        )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "QUOTA_EXCEEDED"
    assert await UploadSession.filter(user_id=ada.id).count() == 0
    assert list(tmp_path.rglob("*.jpg")) == []


async def test_a_session_without_visibility_gets_the_users_default(app_server: AppServer):
    await app_server.pool()
    ada = await app_server.user("ada")
    await User.filter(id=ada.id).update(default_visibility="private")
    async with await app_server.token_client(ada) as client:
        default = await client.post("/api/v1/upload/sessions", json=JPEG)
        chosen = await client.post("/api/v1/upload/sessions", json={**JPEG, "visibility": "public"})

    assert default.status_code == 201, default.text
    assert default.json()["visibility"] == "private"
    assert chosen.json()["visibility"] == "public"
    stored = await UploadSession.get(id=uuid.UUID(default.json()["session_id"]))
    assert stored.visibility == "private"
