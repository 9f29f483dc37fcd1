"""The completion API: a node reports a stored upload, the app records it exactly once."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from arq.jobs import deserialize_job

from pixelfox_app.models import Image, UploadSession
from pixelfox_protocol import jobs
from pixelfox_protocol.internal import UPLOAD_COMPLETE_PATH, node_authorization
from tests.app.conftest import AppServer

pytestmark = pytest.mark.asyncio(loop_scope="module")

BYTES = b"\xff\xd8\xff pretend this is a jpeg"


async def _open_session(app: AppServer, pool_node: str = "s01") -> dict[str, Any]:
    user = await app.user(f"user-{uuid.uuid4().hex[:6]}")
    async with await app.token_client(user) as client:
        response = await client.post(
            "/api/v1/upload/sessions",
            json={"file_size": 1000, "filename": "cat.jpg", "content_type": "image/jpeg"},
        )
    assert response.status_code == 201, response.text
    return dict(response.json())


def _completion(session: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body = {
        "session_id": session["session_id"],
        "image_uuid": session["image_uuid"],
        "pool_id": session["pool_id"],
        "path": f"original/2026/11/27/{session['image_uuid']}.jpg",
        "size": len(BYTES),
        "sha256": hashlib.sha256(BYTES).hexdigest(),
        "mime": "image/jpeg",
        "width": 640,
        "height": 480,
        "original_filename": "cat.jpg",
    }
    body.update(changes)
    return body


async def _complete(app: AppServer, node: dict[str, str], body: dict[str, Any]):
    async with app.client(headers=node) as client:
        return await client.post(UPLOAD_COMPLETE_PATH, json=body)


async def test_completion_creates_one_image_marks_the_session_used_and_queues_one_job(
    app_on_each_db: AppServer,
):
    app = app_on_each_db
    node = await app.node("s01")
    pool = await app.pool("hot-1", "s01")
    session = await _open_session(app)
    response = await _complete(
        app, {**node, "X-Request-ID": "upload-req-0001"}, _completion(session)
    )
    assert response.status_code == 200, response.text
    result = response.json()
    image = await Image.get(uuid=uuid.UUID(session["image_uuid"]))
    assert result["image_uuid"] == session["image_uuid"]
    assert result["view_url"] == f"{app.url}/i/{image.short_id}"
    assert result["status_url"] == f"{app.url}/api/v1/image/status/{session['image_uuid']}"
    assert (image.pool_id, image.size, image.mime, image.width, image.height) == (  # type: ignore[attr-defined]
        pool.id,
        len(BYTES),
        "image/jpeg",
        640,
        480,
    )
    assert image.sha256 == hashlib.sha256(BYTES).hexdigest()
    assert image.state == "processing" and len(image.short_id) == 8
    stored = await UploadSession.get(id=uuid.UUID(session["session_id"]))
    assert stored.state == "used" and stored.used_at is not None
    job_id = app.keys.process_job("s01", session["image_uuid"])
    assert await app.queued_jobs("s01") == [job_id]
    job = deserialize_job(await app.redis.get(f"arq:job:{job_id}"), deserializer=jobs.loads)
    assert job.function == "process_image" and job.args == ()
    assert jobs.ProcessImage.from_json(job.kwargs) == jobs.ProcessImage(
        image_uuid=session["image_uuid"],
        pool_id=pool.id,
        path=image.path,
        request_id="upload-req-0001",
    )


async def test_a_retried_completion_gets_the_same_answer_and_creates_nothing_more(
    app_on_each_db: AppServer,
):
    app = app_on_each_db
    node = await app.node("s01")
    await app.pool("hot-1", "s01")
    session = await _open_session(app)
    first = await _complete(app, node, _completion(session))
    again = await _complete(app, node, _completion(session))
    assert again.status_code == 200
    assert again.json() == first.json()
    assert await Image.all().count() == 1
    assert len(await app.queued_jobs("s01")) == 1


async def test_racing_completions_of_one_session_make_one_image(app_on_each_db: AppServer):
    app = app_on_each_db
    node = await app.node("s01")
    await app.pool("hot-1", "s01")
    session = await _open_session(app)
    answers = await asyncio.gather(*(_complete(app, node, _completion(session)) for _ in range(5)))
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["view_url"] for a in answers}) == 1
    assert await Image.all().count() == 1
    assert len(await app.queued_jobs("s01")) == 1


async def test_a_node_cannot_complete_a_session_of_another_nodes_pool(app_on_each_db: AppServer):
    app = app_on_each_db
    await app.node("s01")
    other = await app.node("s02")
    await app.pool("hot-1", "s01")
    session = await _open_session(app)
    response = await _complete(app, other, _completion(session))
    assert (response.status_code, response.json()["error"]["code"]) == (403, "POOL_NOT_ON_NODE")
    assert await Image.all().count() == 0
    assert (await UploadSession.get(id=uuid.UUID(session["session_id"]))).state == "open"
    assert await app.queued_jobs("s01") == await app.queued_jobs("s02") == []


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(node_authorization("s01", "not-the-credential"), id="wrong-credential"),
        pytest.param(node_authorization("s09", "whatever"), id="unknown-node"),
        pytest.param("Bearer something", id="other-scheme"),
        pytest.param("", id="none"),
    ],
)
async def test_a_bad_node_credential_is_refused(app_server: AppServer, authorization: str):
    await app_server.node("s01")
    await app_server.pool("hot-1", "s01")
    session = await _open_session(app_server)
    headers = {"Authorization": authorization} if authorization else {}
    response = await _complete(app_server, headers, _completion(session))
    assert (response.status_code, response.json()["error"]["code"]) == (401, "NODE_UNAUTHORIZED")
    assert await Image.all().count() == 0


async def test_a_rotated_credential_stops_working_at_once(app_server: AppServer):
    old = await app_server.node("s01")
    await app_server.pool("hot-1", "s01")
    new = await app_server.node("s01")  # registering again rotates
    session = await _open_session(app_server)
    assert (await _complete(app_server, old, _completion(session))).status_code == 401
    assert (await _complete(app_server, new, _completion(session))).status_code == 200


async def test_a_session_long_past_its_expiry_is_refused_but_a_late_upload_is_not(
    app_on_each_db: AppServer,
):
    app = app_on_each_db
    node = await app.node("s01")
    await app.pool("hot-1", "s01")
    stale, late = await _open_session(app), await _open_session(app)
    now = datetime.now(UTC)
    await UploadSession.filter(id=uuid.UUID(stale["session_id"])).update(
        expires_at=now - timedelta(hours=25)
    )
    # Expired an hour ago: its upload started in time and took long (or the outbox waited).
    await UploadSession.filter(id=uuid.UUID(late["session_id"])).update(
        expires_at=now - timedelta(hours=1)
    )
    refused = await _complete(app, node, _completion(stale))
    accepted = await _complete(app, node, _completion(late))
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "SESSION_INVALID")
    assert accepted.status_code == 200
    assert await Image.all().count() == 1


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        pytest.param({"session_id": str(uuid.uuid4())}, 409, "SESSION_INVALID", id="unknown"),
        pytest.param({"session_id": "not-a-uuid"}, 409, "SESSION_INVALID", id="malformed"),
        pytest.param({"image_uuid": str(uuid.uuid4())}, 409, "SESSION_INVALID", id="other-image"),
        pytest.param({"pool_id": 999999}, 409, "SESSION_INVALID", id="other-pool"),
        pytest.param({"size": 1001}, 413, "FILE_TOO_LARGE", id="larger-than-token"),
        pytest.param({"mime": "image/svg+xml"}, 415, "UNSUPPORTED_TYPE", id="svg"),
        pytest.param({"path": "original/../../etc/passwd"}, 400, "BAD_REQUEST", id="traversal"),
        pytest.param({"path": "/srv/pool/original/x.jpg"}, 400, "BAD_REQUEST", id="absolute"),
        pytest.param({"path": "variants/2026/11/27/x.jpg"}, 400, "BAD_REQUEST", id="not-original"),
        pytest.param({"sha256": "abc"}, 422, "VALIDATION_ERROR", id="bad-sha256"),
    ],
)
async def test_a_completion_that_does_not_match_its_session_is_refused(
    app_server: AppServer, change: dict[str, Any], status: int, code: str
):
    node = await app_server.node("s01")
    await app_server.pool("hot-1", "s01")
    session = await _open_session(app_server)
    response = await _complete(app_server, node, _completion(session, **change))
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert await Image.all().count() == 0
    assert (await UploadSession.get(id=uuid.UUID(session["session_id"]))).state == "open"
    assert await app_server.queued_jobs("s01") == []
