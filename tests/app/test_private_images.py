"""Private images in the app: sessions carry the visibility, completions must match it,
only owners and admins see them, and a change of visibility switches every row at once."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from arq.jobs import deserialize_job

from pixelfox_app.models import Image, ImageVariant, UploadSession, User, Visibility
from pixelfox_protocol import jobs
from pixelfox_protocol.internal import (
    UPLOAD_COMPLETE_PATH,
    VARIANTS_PATH,
    VISIBILITY_PATH,
)
from tests.app import images
from tests.app.conftest import AppServer

pytestmark = pytest.mark.asyncio(loop_scope="module")

BYTES = b"\xff\xd8\xff pretend this is a jpeg"
DAY = "2026/11/27"


async def _session(app: AppServer, user: User, visibility: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"file_size": 1000, "filename": "cat.jpg"}
    if visibility is not None:
        body["visibility"] = visibility
    async with await app.token_client(user) as client:
        response = await client.post("/api/v1/upload/sessions", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _completion(session: dict[str, Any], path: str) -> dict[str, Any]:
    return {
        "session_id": session["session_id"],
        "image_uuid": session["image_uuid"],
        "pool_id": session["pool_id"],
        "path": path,
        "size": len(BYTES),
        "sha256": hashlib.sha256(BYTES).hexdigest(),
        "mime": "image/jpeg",
        "width": 640,
        "height": 480,
    }


async def _uploaded(app: AppServer, node: dict[str, str], user: User, private: bool) -> Image:
    """An image as a node's completion and variant report leave it."""
    session = await _session(app, user, "private" if private else "public")
    subtree = "private/" if private else ""
    image_uuid = session["image_uuid"]
    path = f"{subtree}original/{DAY}/{image_uuid}.jpg"
    variants = [
        {
            "kind": "thumb200",
            "format": fmt,
            "path": f"{subtree}variants/{DAY}/{image_uuid}_thumb200.{fmt}",
            "size": 10,
            "width": 200,
            "height": 150,
        }
        for fmt in ("jpg", "webp")
    ]
    async with app.client(headers=node) as client:
        done = await client.post(UPLOAD_COMPLETE_PATH, json=_completion(session, path))
        assert done.status_code == 200, done.text
        reported = await client.post(
            VARIANTS_PATH.format(image_uuid=image_uuid),
            json={"state": "ready", "variants": variants},
        )
        assert reported.status_code == 200, reported.text
    return await Image.get(uuid=uuid.UUID(image_uuid)).select_related("pool")


def _signed(url: str) -> bool:
    query = parse_qs(urlsplit(url).query)
    return {"md5", "expires", "k"} <= set(query)


async def test_a_private_session_is_stored_private_and_its_token_says_so(app_server: AppServer):
    await app_server.pool("hot-1", "s01")
    ada = await app_server.user("ada")
    private = await _session(app_server, ada, "private")
    default = await _session(app_server, ada, None)
    async with await app_server.token_client(ada) as client:
        alias = await client.post("/api/v1/upload/server?file_size=10&visibility=unlisted")
        wrong = await client.post(
            "/api/v1/upload/sessions", json={"file_size": 10, "visibility": "secret"}
        )
    claims = jwt.decode(private["token"], options={"verify_signature": False})
    plain = jwt.decode(default["token"], options={"verify_signature": False})
    assert (private["visibility"], claims["vis"]) == ("private", "private")
    # Public tokens look as before the claim existed: without it.
    assert default["visibility"] == "public" and "vis" not in plain
    assert alias.status_code == 200 and alias.json()["visibility"] == "unlisted"
    assert wrong.status_code in (400, 422)
    row = await UploadSession.get(id=uuid.UUID(private["session_id"]))
    assert row.visibility == Visibility.PRIVATE


async def test_a_completion_outside_its_sessions_subtree_is_refused_and_records_nothing(
    app_server: AppServer,
):
    node = await app_server.node("s01")
    await app_server.pool("hot-1", "s01")
    ada = await app_server.user("ada")
    public = await _session(app_server, ada, "public")
    private = await _session(app_server, ada, "private")
    async with app_server.client(headers=node) as client:
        # A node (or a tampered path) putting a public session's file under private/ …
        into_private = await client.post(
            UPLOAD_COMPLETE_PATH,
            json=_completion(public, f"private/original/{DAY}/{public['image_uuid']}.jpg"),
        )
        # … and a private session's file where anybody could fetch it.
        into_public = await client.post(
            UPLOAD_COMPLETE_PATH,
            json=_completion(private, f"original/{DAY}/{private['image_uuid']}.jpg"),
        )
    for refused in (into_private, into_public):
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "VISIBILITY_MISMATCH"
    assert await Image.all().count() == 0


async def test_only_the_owner_and_admins_see_a_private_image_and_get_signed_links(
    app_server: AppServer,
):
    node = await app_server.node("s01")
    await app_server.pool("hot-1", "s01")
    ada = await app_server.user("ada")
    eve = await app_server.user("eve")
    root = await app_server.user("root", is_admin=True)
    image = await _uploaded(app_server, node, ada, private=True)
    assert image.visibility == Visibility.PRIVATE
    assert image.path.startswith("private/original/")
    status_path = f"/api/v1/image/status/{image.uuid}"
    seen: dict[str, Any] = {}
    for name, user in (("ada", ada), ("eve", eve), ("root", root)):
        async with await app_server.token_client(user) as client:
            seen[name] = (await client.get(status_path), await client.get(f"/i/{image.short_id}"))
    async with app_server.client() as anonymous:
        seen["anonymous"] = (
            await anonymous.get(status_path),
            await anonymous.get(f"/i/{image.short_id}"),
        )
    for name in ("eve", "anonymous"):
        assert [r.status_code for r in seen[name]] == [404, 404], name
    for name in ("ada", "root"):
        status, page = seen[name]
        assert (status.status_code, page.status_code) == (200, 200), name
        body = status.json()
        urls = [body["url"], *(v["url"] for v in body["variants"])]
        assert all("/uploads/private/" in u and _signed(u) for u in urls), urls
        assert body["url"].split("?")[0] in page.text


async def test_public_and_unlisted_switch_at_once_without_touching_the_files(
    app_server: AppServer,
):
    node = await app_server.node("s01")
    await app_server.pool("hot-1", "s01")
    ada = await app_server.user("ada")
    image = await _uploaded(app_server, node, ada, private=False)
    async with await app_server.token_client(ada) as client:
        answer = await client.post(
            f"/api/v1/images/{image.uuid}/visibility", json={"visibility": "unlisted"}
        )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "image_uuid": str(image.uuid),
        "visibility": "unlisted",
        "changing_to": None,
    }
    after = await Image.get(id=image.id)
    assert (after.visibility, after.path) == (Visibility.UNLISTED, image.path)
    assert await app_server.queued_jobs("s01") == [
        app_server.keys.process_job("s01", str(image.uuid))
    ]


async def test_going_private_queues_the_nodes_move_and_its_report_switches_every_row(
    app_server: AppServer,
):
    node = await app_server.node("s01")
    await app_server.pool("hot-1", "s01")
    ada = await app_server.user("ada")
    eve = await app_server.user("eve")
    image = await _uploaded(app_server, node, ada, private=False)
    path = f"/api/v1/images/{image.uuid}/visibility"
    async with await app_server.token_client(ada) as client:
        started = await client.post(path, json={"visibility": "private"})
        again = await client.post(path, json={"visibility": "private"})
        other = await client.post(path, json={"visibility": "unlisted"})
        changing = (await client.get(f"/api/v1/image/status/{image.uuid}")).json()
    async with await app_server.token_client(eve) as stranger:
        hidden = await stranger.get(f"/api/v1/image/status/{image.uuid}")
        meddling = await stranger.post(path, json={"visibility": "public"})
    assert started.json()["changing_to"] == "private"
    assert started.json()["visibility"] == "public"
    assert again.status_code == 200
    assert (other.status_code, other.json()["error"]["code"]) == (409, "VISIBILITY_CHANGING")
    # Until the node reports, the old URLs stay (the files are still there) …
    assert changing["changing_to"] == "private" and "/uploads/original/" in changing["url"]
    # … but the image already counts as private.
    assert hidden.status_code == meddling.status_code == 404
    job_id = app_server.keys.visibility_job("s01", str(image.uuid), private=True)
    assert job_id in await app_server.queued_jobs("s01")
    raw = await app_server.redis.get(f"arq:job:{job_id}")
    job = deserialize_job(raw, deserializer=jobs.loads)
    assert job.function == "change_visibility"
    wanted = {"image_uuid": str(image.uuid), "pool_id": image.pool.id, "path": image.path}
    assert job.kwargs.items() >= {**wanted, "private": True}.items()

    moved = f"private/{image.path}"
    variants = [f"private/variants/{DAY}/{image.uuid}_thumb200.{f}" for f in ("jpg", "webp")]
    report = {"private": True, "path": moved, "variants": variants}
    report_path = VISIBILITY_PATH.format(image_uuid=image.uuid)
    other_node = await app_server.node("s02")
    async with app_server.client() as client:
        foreign = await client.post(report_path, json=report, headers=other_node)
        first = await client.post(report_path, json=report, headers=node)
        resent = await client.post(report_path, json=report, headers=node)
    assert (foreign.status_code, foreign.json()["error"]["code"]) == (403, "POOL_NOT_ON_NODE")
    assert first.status_code == resent.status_code == 200, first.text
    after = await Image.get(id=image.id)
    assert (after.visibility, after.visibility_target, after.path) == (
        Visibility.PRIVATE,
        None,
        moved,
    )
    rows = await ImageVariant.filter(image_id=image.id).order_by("format")
    assert [r.path for r in rows] == variants
    async with await app_server.token_client(ada) as client:
        status = (await client.get(f"/api/v1/image/status/{image.uuid}")).json()
    assert status["visibility"] == "private" and status["changing_to"] is None
    assert all(_signed(u) for u in [status["url"], *(v["url"] for v in status["variants"])])


async def test_a_report_for_a_change_nobody_asked_for_is_refused(app_server: AppServer):
    node = await app_server.node("s01")
    await app_server.pool("hot-1", "s01")
    ada = await app_server.user("ada")
    image = await _uploaded(app_server, node, ada, private=False)
    report = {"private": True, "path": f"private/{image.path}", "variants": []}
    elsewhere = {"private": True, "path": f"private/original/{DAY}/{uuid.uuid4()}.jpg"}
    async with app_server.client(headers=node) as client:
        unasked = await client.post(VISIBILITY_PATH.format(image_uuid=image.uuid), json=report)
        wrong_file = await client.post(
            VISIBILITY_PATH.format(image_uuid=image.uuid), json=elsewhere
        )
    assert (unasked.status_code, unasked.json()["error"]["code"]) == (409, "VISIBILITY_MISMATCH")
    assert wrong_file.status_code == 400
    after = await Image.get(id=image.id)
    assert (after.visibility, after.path) == (Visibility.PUBLIC, image.path)


async def test_the_image_page_offers_the_owner_a_visibility_control_that_polls_while_changing(
    app_server: AppServer,
):
    node = await app_server.node("s01")
    await app_server.pool("hot-1", "s01")
    ada = await app_server.user("ada")
    image = await _uploaded(app_server, node, ada, private=False)
    async with app_server.client() as browser:
        await app_server.login(browser, "ada")
        page = await browser.get(f"/i/{image.short_id}")
        posted = await browser.post(
            f"/i/{image.short_id}/visibility",
            data={"visibility": "private"},
            headers={"HX-Request": "true"},
        )
        listing = await browser.get("/images")
        await Image.filter(id=image.id).update(
            visibility=Visibility.PRIVATE, visibility_target=None, path=f"private/{image.path}"
        )
        done = await browser.get(
            f"/i/{image.short_id}/visibility?changing=1", headers={"HX-Request": "true"}
        )
    assert 'id="visibility"' in page.text and 'name="visibility"' in page.text
    assert posted.status_code == 200, posted.text
    assert 'data-changing="private"' in posted.text and "every 2s" in posted.text
    assert 'data-visibility="changing"' in listing.text
    assert done.headers.get("HX-Refresh") == "true"


async def test_a_proxy_upload_asked_private_lands_under_private_and_a_bad_choice_stores_nothing(
    app_server: AppServer, tmp_path: Path
):
    await app_server.pool("local", "local", base_path=str(tmp_path), public_base_url="")
    await app_server.knob("direct_upload", False)
    await app_server.user("ada")
    data = images.jpeg(64, 48)
    async with app_server.client() as browser:
        await app_server.login(browser, "ada")
        stored = await browser.post(
            "/api/v1/upload?visibility=private",
            files={"file": ("secret.jpg", data, "image/jpeg")},
        )
        refused = await browser.post(
            "/api/v1/upload?visibility=secret",
            files={"file": ("secret.jpg", data, "image/jpeg")},
        )
    assert stored.status_code == 201, stored.text
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "VALIDATION_ERROR")
    image = await Image.get(uuid=uuid.UUID(stored.json()["image_uuid"]))
    assert image.visibility == Visibility.PRIVATE
    assert image.path.startswith("private/original/")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [tmp_path / image.path]
    assert await UploadSession.all().count() == 1
