"""Upload sessions: where to upload and with which token, or a clear refusal."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest

from pixelfox_app.models import StorageNode, UploadSession, User
from pixelfox_protocol.errors import APIError
from pixelfox_protocol.tokens import parse_public_keys, verify
from tests.app.conftest import AppServer, GetServer

pytestmark = pytest.mark.asyncio(loop_scope="module")

JPEG = {"file_size": 123_456, "filename": "cat.jpg", "content_type": "image/jpeg"}


async def test_logged_in_browser_gets_the_pools_upload_url_and_a_session(app_server: AppServer):
    pool = await app_server.pool("hot-1", "s01")
    await app_server.user("ada")
    async with app_server.client() as client:
        await app_server.login(client, "ada")
        response = await client.post("/api/v1/upload/sessions", json=JPEG)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["upload_url"] == "http://s01.pixelfox.test/api/internal/upload"
    assert body["tus_url"] == "http://s01.pixelfox.test/api/internal/upload/tus"
    assert body["pool_id"] == pool.id
    assert body["direct"] is True
    assert abs(body["expires_at"] - (time.time() + 15 * 60)) < 60
    session = await UploadSession.get(id=uuid.UUID(body["session_id"]))
    assert session.state == "open"
    assert str(session.image_uuid) == body["image_uuid"]
    assert session.max_size == session.declared_size == JPEG["file_size"]
    assert (session.filename, session.content_type) == ("cat.jpg", "image/jpeg")
    assert session.request_id == response.headers["X-Request-ID"]
    assert session.client_ip == "127.0.0.1"


async def test_the_seeds_curl_body_with_only_a_size_works_with_an_api_token(
    app_server: AppServer,
):
    await app_server.pool()
    user = await app_server.user("ada")
    async with await app_server.token_client(user) as client:
        response = await client.post("/api/v1/upload/sessions", json={"file_size": 1234567})
    assert response.status_code == 201, response.text
    assert set(response.json()) >= {"upload_url", "token", "pool_id", "session_id", "expires_at"}


async def test_token_carries_every_claim_and_verifies_only_for_its_node(app_server: AppServer):
    pool = await app_server.pool("hot-1", "s01")
    user = await app_server.user("ada")
    async with await app_server.token_client(user) as client:
        body = (await client.post("/api/v1/upload/sessions", json=JPEG)).json()
    session = await UploadSession.get(id=uuid.UUID(body["session_id"]))
    kid, _, _ = app_server.public_key.partition(":")
    public = parse_public_keys(app_server.public_key)[kid]
    header = jwt.get_unverified_header(body["token"])
    claims = jwt.decode(body["token"], public, algorithms=["EdDSA"], audience="storage:s01")
    assert header["alg"] == "EdDSA" and header["kid"] == kid
    assert claims["kid"] == kid
    assert claims["iss"] == "pixelfox-app"
    assert claims["aud"] == "storage:s01"
    assert claims["sub"] == str(user.id)
    assert claims["pool_id"] == pool.id
    assert claims["sid"] == body["session_id"]
    assert claims["jti"] == session.token_id
    assert claims["max_size"] == JPEG["file_size"]
    assert claims["img"] == body["image_uuid"]
    assert claims["exp"] == body["expires_at"]
    assert claims["exp"] - claims["nbf"] == 15 * 60
    assert verify(body["token"], "s01", parse_public_keys(app_server.public_key)).pool_id == pool.id
    with pytest.raises(APIError) as wrong_node:
        verify(body["token"], "s02", parse_public_keys(app_server.public_key))
    assert wrong_node.value.code == "TOKEN_WRONG_NODE"


async def test_sibsoft_alias_takes_query_parameters(app_server: AppServer):
    await app_server.pool()
    user = await app_server.user("ada")
    async with await app_server.token_client(user) as client:
        sized = await client.post(
            "/api/v1/upload/server", params={"file_size": 5000, "filename": "a.png"}
        )
        unsized = await client.post("/api/v1/upload/server")
        too_big = await client.post("/api/v1/upload/server", params={"file_size": 10**12})
    assert sized.status_code == 200, sized.text
    assert sized.json()["max_size"] == 5000
    # Without a size the token allows the operator's limit (the knob's default).
    assert unsized.json()["max_size"] == 50 * 1024 * 1024
    assert too_big.json()["error"]["code"] == "FILE_TOO_LARGE"
    assert await UploadSession.all().count() == 2


async def test_a_get_of_the_sibsoft_alias_only_reads(app_server: AppServer):
    await app_server.pool()
    await app_server.knob("upload_user_rate_limit_per_minute", 1)
    user = await app_server.user("ada")
    keys_before = {k async for k in app_server.redis.scan_iter(f"{app_server.keys.prefix}:*")}
    async with await app_server.token_client(user) as client:
        reads = [await client.get("/api/v1/upload/server") for _ in range(3)]
        keys_after = {k async for k in app_server.redis.scan_iter(f"{app_server.keys.prefix}:*")}
        sessions = await UploadSession.all().count()
        opened = await client.post("/api/v1/upload/server", params={"file_size": 10})
    assert [r.status_code for r in reads] == [200, 200, 200]
    assert reads[0].json()["session_url"] == "/api/v1/upload/server"
    assert reads[0].json()["max_size"] == 50 * 1024 * 1024
    assert "token" not in reads[0].json()
    # No session, no placement counter, no rate-limit count: the one upload a
    # minute is still there for the POST.
    assert sessions == 0
    assert keys_after == keys_before
    assert opened.status_code == 200, opened.text


SMALL = {**JPEG, "file_size": 500}
REFUSALS = [
    pytest.param({"file_size": 1001}, 413, "FILE_TOO_LARGE", id="larger-than-limit"),
    pytest.param({**SMALL, "content_type": "image/bmp"}, 415, "UNSUPPORTED_TYPE", id="bmp"),
    pytest.param({**SMALL, "content_type": "image/svg+xml"}, 415, "UNSUPPORTED_TYPE", id="svg"),
    pytest.param({**SMALL, "content_type": "text/xml"}, 415, "UNSUPPORTED_TYPE", id="xml"),
    pytest.param(
        {**SMALL, "filename": "x.svg", "content_type": ""}, 415, "UNSUPPORTED_TYPE", id="svg-name"
    ),
    pytest.param({**SMALL, "filename": "run.exe"}, 415, "UNSUPPORTED_TYPE", id="exe-name"),
    pytest.param(
        {**SMALL, "filename": "../../etc/cat.jpg"}, 400, "INVALID_FILENAME", id="traversal-name"
    ),
    pytest.param({"filename": "cat.jpg"}, 422, "VALIDATION_ERROR", id="no-size"),
    pytest.param({"file_size": 0}, 422, "VALIDATION_ERROR", id="empty-file"),
    pytest.param({"file_size": "big"}, 422, "VALIDATION_ERROR", id="size-not-a-number"),
]


@pytest.mark.parametrize(("body", "status", "code"), REFUSALS)
async def test_bad_requests_are_refused_with_a_stable_code_and_leave_no_session(
    app_server: AppServer, body: dict[str, object], status: int, code: str
):
    await app_server.pool()
    await app_server.knob("max_upload_bytes", 1000)
    user = await app_server.user("ada")
    async with await app_server.token_client(user) as client:
        response = await client.post("/api/v1/upload/sessions", json=body)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert await UploadSession.all().count() == 0


async def test_svg_stays_refused_even_when_an_operator_allows_it(app_server: AppServer):
    await app_server.pool()
    await app_server.knob("allowed_types", ["image/png", "image/svg+xml"])
    user = await app_server.user("ada")
    async with await app_server.token_client(user) as client:
        svg = await client.post(
            "/api/v1/upload/sessions",
            json={"file_size": 10, "filename": "a.svg", "content_type": "image/svg+xml"},
        )
        jpeg = await client.post("/api/v1/upload/sessions", json=JPEG)
    assert svg.json()["error"]["code"] == "UNSUPPORTED_TYPE"
    # And a type the operator removed is refused as well.
    assert jpeg.json()["error"]["code"] == "UNSUPPORTED_TYPE"
    assert await UploadSession.all().count() == 0


async def test_a_body_that_is_not_json_is_refused(app_server: AppServer):
    await app_server.pool()
    user = await app_server.user("ada")
    async with await app_server.token_client(user) as client:
        broken = await client.post(
            "/api/v1/upload/sessions",
            content=b"{not json",
            headers={"Content-Type": "application/json"},
        )
        form = await client.post("/api/v1/upload/sessions", data={"file_size": "10"})
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "BAD_REQUEST"
    assert form.status_code in (400, 422) and "error" in form.json()
    assert await UploadSession.all().count() == 0


async def test_anonymous_and_disabled_users_get_no_session(app_server: AppServer):
    await app_server.pool()
    user = await app_server.user("ada")
    async with app_server.client() as anonymous:
        nobody = await anonymous.post("/api/v1/upload/sessions", json=JPEG)
    async with await app_server.token_client(user) as client:
        await User.filter(id=user.id).update(is_active=False)
        disabled = await client.post("/api/v1/upload/sessions", json=JPEG)
    assert (nobody.status_code, nobody.json()["error"]["code"]) == (401, "AUTH_REQUIRED")
    assert (disabled.status_code, disabled.json()["error"]["code"]) == (403, "FORBIDDEN")
    assert await UploadSession.all().count() == 0


@pytest.mark.parametrize(
    "pool_fields",
    [
        pytest.param({"is_active": False}, id="inactive"),
        pytest.param({"is_upload_target": False}, id="not-an-upload-target"),
        pytest.param({"tier": "cold"}, id="cold"),
        pytest.param({"capacity_bytes": 2 << 30, "used_bytes": (1 << 30) + 1}, id="full"),
    ],
)
async def test_no_eligible_pool_means_no_storage(
    app_server: AppServer, pool_fields: dict[str, object]
):
    await app_server.pool(**pool_fields)
    user = await app_server.user("ada")
    async with await app_server.token_client(user) as client:
        response = await client.post("/api/v1/upload/sessions", json=JPEG)
    assert (response.status_code, response.json()["error"]["code"]) == (503, "NO_STORAGE")
    assert await UploadSession.all().count() == 0


async def test_pools_of_a_deactivated_node_are_skipped(app_server: AppServer):
    await app_server.node("s01")
    await app_server.pool("on-s01", "s01", priority=1)
    s02 = await app_server.pool("on-s02", "s02", priority=2)
    await StorageNode.filter(node_id="s01").update(is_active=False)
    user = await app_server.user("ada")
    async with await app_server.token_client(user) as client:
        body = (await client.post("/api/v1/upload/sessions", json=JPEG)).json()
    assert body["pool_id"] == s02.id


async def test_a_client_may_ask_to_avoid_a_node_that_failed_it(app_server: AppServer):
    await app_server.pool("on-s01", "s01", priority=1)
    s02 = await app_server.pool("on-s02", "s02", priority=2)
    user = await app_server.user("ada")
    async with await app_server.token_client(user) as client:
        retry = await client.post("/api/v1/upload/sessions", json={**JPEG, "avoid_nodes": ["s01"]})
        nowhere = await client.post(
            "/api/v1/upload/sessions", json={**JPEG, "avoid_nodes": ["s01", "s02"]}
        )
    assert retry.json()["pool_id"] == s02.id
    assert nowhere.json()["error"]["code"] == "NO_STORAGE"


async def test_with_direct_upload_off_the_session_points_at_the_app_and_a_local_pool(
    app_server: AppServer, tmp_path
):
    await app_server.pool("remote", "s01", priority=1)
    local = await app_server.pool("local", "local", priority=5, base_path=str(tmp_path))
    await app_server.knob("direct_upload", False)
    user = await app_server.user("ada")
    async with await app_server.token_client(user) as client:
        body = (await client.post("/api/v1/upload/sessions", json=JPEG)).json()
    assert body["upload_url"] == f"{app_server.url}/api/v1/upload"
    assert body["direct"] is False
    assert body["tus_url"] is None  # the app itself takes no resumable uploads
    assert body["pool_id"] == local.id


async def test_without_a_signing_key_sessions_fail_clearly(app_with: GetServer):
    app = await app_with(token_signing_key="")
    await app.pool()
    user = await app.user("ada")
    async with await app.token_client(user) as client:
        response = await client.post("/api/v1/upload/sessions", json=JPEG)
    assert (response.status_code, response.json()["error"]["code"]) == (503, "UNAVAILABLE")
    assert "signing key" in response.json()["error"]["message"]
    assert await UploadSession.all().count() == 0
