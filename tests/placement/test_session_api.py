"""Placement through the session API of a real app: avoid_nodes, region, the admin's explanation."""

from __future__ import annotations

import pytest

from pixelfox_app.models import StoragePool, UploadSession
from tests.app.conftest import AppServer, GetServer

pytestmark = pytest.mark.asyncio(loop_scope="module")

JPEG = {"file_size": 123_456, "filename": "cat.jpg", "content_type": "image/jpeg"}
SESSIONS = "/api/v1/upload/sessions"


async def _two_nodes(app: AppServer) -> tuple[StoragePool, StoragePool]:
    s01 = await app.pool("eu-1", "s01", region="eu-central", priority=10)
    s02 = await app.pool("us-1", "s02", region="us-east", priority=20)
    await app.knob("placement_strategy", "priority")
    return s01, s02


async def test_the_answer_names_the_node_and_a_retry_can_avoid_it(app_server: AppServer):
    s01, s02 = await _two_nodes(app_server)
    user = await app_server.user("ada")
    async with await app_server.token_client(user) as client:
        first = (await client.post(SESSIONS, json=JPEG)).json()
        # The upload to s01 failed at the network level: ask again, avoiding s01.
        retry = await client.post(SESSIONS, json={**JPEG, "avoid_nodes": [first["node_id"]]})
    assert (first["pool_id"], first["node_id"]) == (s01.id, "s01")
    assert retry.status_code == 201, retry.text
    assert (retry.json()["pool_id"], retry.json()["node_id"]) == (s02.id, "s02")
    assert retry.json()["upload_url"] == "http://s02.pixelfox.test/api/internal/upload"


async def test_avoiding_every_node_is_no_storage_and_leaves_no_session(app_server: AppServer):
    await _two_nodes(app_server)
    user = await app_server.user("ada")
    async with await app_server.token_client(user) as client:
        response = await client.post(SESSIONS, json={**JPEG, "avoid_nodes": ["s01", "s02"]})
    assert (response.status_code, response.json()["error"]["code"]) == (503, "NO_STORAGE")
    assert "details" not in response.json()["error"]
    assert await UploadSession.all().count() == 0


async def test_an_admin_asking_to_explain_sees_the_choice_and_every_skipped_pool(
    app_server: AppServer,
):
    s01, s02 = await _two_nodes(app_server)
    off = await app_server.pool("off", "s03", is_active=False)
    silent = await app_server.pool("silent", "s04", beat=False)
    admin = await app_server.user("root", is_admin=True)
    async with await app_server.token_client(admin) as client:
        response = await client.post(f"{SESSIONS}?explain=1", json=JPEG)
    assert response.status_code == 201, response.text
    placement = response.json()["placement"]
    assert placement["strategy"] == "priority"
    assert placement["chosen"]["pool_id"] == s01.id
    assert [c["pool_id"] for c in placement["candidates"]] == [s01.id, s02.id]
    assert {(v["pool_id"], v["reason"]) for v in placement["skipped"]} == {
        (off.id, "pool_inactive"),
        (silent.id, "no_heartbeat"),
    }


async def test_explain_is_for_admins_only(app_server: AppServer):
    await _two_nodes(app_server)
    user = await app_server.user("ada")
    async with await app_server.token_client(user) as client:
        response = await client.post(f"{SESSIONS}?explain=1", json=JPEG)
    assert response.status_code == 201
    assert response.json()["placement"] is None


async def test_an_admins_no_storage_refusal_carries_the_explanation(app_server: AppServer):
    silent = await app_server.pool("silent", "s01", beat=False)
    admin = await app_server.user("root", is_admin=True)
    async with await app_server.token_client(admin) as client:
        explained = await client.post(f"{SESSIONS}?explain=1", json=JPEG)
        plain = await client.post(SESSIONS, json=JPEG)
    assert explained.status_code == 503
    details = explained.json()["error"]["details"]["placement"]
    assert details["chosen"] is None
    assert [(v["pool_id"], v["reason"]) for v in details["skipped"]] == [
        (silent.id, "no_heartbeat")
    ]
    assert "details" not in plain.json()["error"]


async def test_a_region_in_the_query_prefers_that_regions_pool(app_server: AppServer):
    _, s02 = await _two_nodes(app_server)
    user = await app_server.user("ada")
    async with await app_server.token_client(user) as client:
        us = await client.post(f"{SESSIONS}?region=us-east", json=JPEG)
        alias = await client.post("/api/v1/upload/server", params={"region": "us-east"})
        bad = await client.post(f"{SESSIONS}?region=us east!", json=JPEG)
    assert us.json()["pool_id"] == s02.id
    assert alias.json()["pool_id"] == s02.id
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "VALIDATION_ERROR")
    assert await UploadSession.all().count() == 2


async def test_the_alias_takes_avoid_nodes_as_a_comma_separated_list(app_server: AppServer):
    _, s02 = await _two_nodes(app_server)
    user = await app_server.user("ada")
    async with await app_server.token_client(user) as client:
        response = await client.post("/api/v1/upload/server", params={"avoid_nodes": "s03,s01"})
        too_long = await client.post("/api/v1/upload/server", params={"avoid_nodes": "x" * 40})
    assert response.json()["pool_id"] == s02.id
    assert too_long.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_a_trusted_cdns_country_header_picks_the_region(app_with: GetServer):
    app = await app_with(region_header="CF-IPCountry", region_map="us=us-east,ca=us-east")
    s01, s02 = await _two_nodes(app)
    user = await app.user("ada")
    async with await app.token_client(user) as client:
        from_us = await client.post(SESSIONS, json=JPEG, headers={"CF-IPCountry": "US"})
        from_de = await client.post(SESSIONS, json=JPEG, headers={"CF-IPCountry": "DE"})
        # An explicit region in the query wins over the header.
        asked = await client.post(
            f"{SESSIONS}?region=eu-central", json=JPEG, headers={"CF-IPCountry": "CA"}
        )
    assert from_us.json()["pool_id"] == s02.id
    assert from_de.json()["pool_id"] == s01.id  # "de" is no pool's region: priority decides
    assert asked.json()["pool_id"] == s01.id
