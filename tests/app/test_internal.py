"""What nodes report besides uploads: heartbeats (and the pool map they get back), variants."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from pixelfox_app.models import Image, ImageVariant, StorageNode, StoragePool, User
from pixelfox_protocol.internal import (
    HEARTBEAT_PATH,
    NODE_CONFIG_PATH,
    VARIANTS_PATH,
    NodeConfig,
    config_version,
)
from pixelfox_protocol.keys import HEARTBEAT_TTL
from tests.app.conftest import AppServer

pytestmark = pytest.mark.asyncio(loop_scope="module")


def _beat(node_id: str, pools: list[dict[str, Any]], version: str = "1.2.3") -> dict[str, Any]:
    return {
        "node_id": node_id,
        "version": version,
        "pools": pools,
        "active_uploads": 2,
        "queue_depth": 7,
    }


def _pool_beat(pool_id: int, used: int) -> dict[str, Any]:
    return {
        "pool_id": pool_id,
        "free_bytes": 10_000 - used,
        "used_bytes": used,
        "capacity_bytes": 10_000,
        "used_pct": used / 100,
    }


async def test_heartbeat_is_kept_in_redis_with_a_ttl_and_answered_with_the_pool_map(
    app_server: AppServer,
):
    node = await app_server.node("s01")
    mine = await app_server.pool("hot-1", "s01")
    await app_server.pool("hot-2", "s02")
    async with app_server.client(headers=node) as client:
        response = await client.post(HEARTBEAT_PATH, json=_beat("s01", [_pool_beat(mine.id, 42)]))
        # A pool added after the node started shows up in the next answer.
        added = await app_server.pool("hot-3", "s01", is_active=False)
        later = await client.post(HEARTBEAT_PATH, json=_beat("s01", []))
    assert response.status_code == 200, response.text
    assert response.json()["node_id"] == "s01"
    assert [p["name"] for p in response.json()["pools"]] == ["hot-1"]
    assert [(p["id"], p["is_active"]) for p in later.json()["pools"]] == [
        (mine.id, True),
        (added.id, False),
    ]
    key = app_server.keys.node_heartbeat("s01")
    stored = json.loads(await app_server.redis.get(key))
    assert stored["queue_depth"] == 7 and stored["version"] == "1.2.3"
    assert 0 < await app_server.redis.ttl(key) <= HEARTBEAT_TTL
    row = await StorageNode.get(node_id="s01")
    assert row.version == "1.2.3" and row.last_seen_at is not None


async def test_heartbeat_mirrors_only_used_bytes_and_never_overwrites_other_pool_fields(
    app_server: AppServer,
):
    node = await app_server.node("s01")
    pool = await app_server.pool("hot-1", "s01", capacity_bytes=10_000, priority=100)
    # The admin changes the pool while the node's view of it is older.
    await StoragePool.filter(id=pool.id).update(
        is_active=False, priority=7, public_base_url="https://new.example"
    )
    async with app_server.client(headers=node) as client:
        response = await client.post(HEARTBEAT_PATH, json=_beat("s01", [_pool_beat(pool.id, 4321)]))
    assert response.status_code == 200
    after = await StoragePool.get(id=pool.id)
    assert after.used_bytes == 4321
    assert (after.is_active, after.priority, after.public_base_url) == (
        False,
        7,
        "https://new.example",
    )
    assert after.updated_at == (await StoragePool.get(id=pool.id)).updated_at


async def test_a_node_cannot_report_for_another_nodes_pool_or_name(app_server: AppServer):
    node = await app_server.node("s01")
    await app_server.node("s02")
    theirs = await app_server.pool("hot-2", "s02", used_bytes=5, beat=False)
    async with app_server.client(headers=node) as client:
        pretending = await client.post(HEARTBEAT_PATH, json=_beat("s02", []))
        foreign_pool = await client.post(
            HEARTBEAT_PATH, json=_beat("s01", [_pool_beat(theirs.id, 9999)])
        )
    assert (pretending.status_code, pretending.json()["error"]["code"]) == (403, "FORBIDDEN")
    assert foreign_pool.status_code == 200
    assert (await StoragePool.get(id=theirs.id)).used_bytes == 5
    assert await app_server.redis.get(app_server.keys.node_heartbeat("s02")) is None


async def test_node_config_lists_exactly_the_nodes_pools_and_the_upload_limits(
    app_server: AppServer,
):
    node = await app_server.node("s01")
    await app_server.knob("allowed_types", ["image/png", "image/webp"])
    await app_server.knob("max_pixels", 4_000_000)
    a = await app_server.pool("a", "s01", base_path="/srv/a", capacity_bytes=5, reserve_bytes=1)
    await app_server.pool("b", "s02")
    async with app_server.client(headers=node) as client:
        config = await client.get(NODE_CONFIG_PATH)
        anonymous = await client.get(NODE_CONFIG_PATH, headers={"Authorization": ""})
    body = config.json()
    # The digest the node acknowledges in its beats: of exactly this content.
    assert body.pop("version") == config_version(NodeConfig.model_validate(body))
    assert body == {
        "node_id": "s01",
        "pools": [
            {
                "id": a.id,
                "name": "a",
                "base_path": "/srv/a",
                "tier": "hot",
                "is_active": True,
                "capacity_bytes": 5,
                "reserve_bytes": 1,
                "backup_bucket": "",
                "backup_prefix": "",
            }
        ],
        "upload_limits": {
            "allowed_types": ["image/png", "image/webp"],
            "max_pixels": 4_000_000,
            "max_frames": 200,
        },
    }
    assert anonymous.status_code == 401


async def _image(app: AppServer, node_id: str = "s01") -> Image:
    pool = await app.pool("hot-1", node_id)
    owner = await app.user("ada")
    image_uuid = uuid.uuid4()
    return await Image.create(
        uuid=image_uuid,
        short_id=uuid.uuid4().hex[:8],
        owner=owner,
        pool=pool,
        path=f"original/2026/11/27/{image_uuid}.jpg",
        size=10,
        sha256="0" * 64,
        mime="image/jpeg",
        width=640,
        height=480,
    )


def _variants(image_uuid: str) -> list[dict[str, Any]]:
    return [
        {
            "kind": kind,
            "format": fmt,
            "path": f"variants/2026/11/27/{image_uuid}_{kind}.{fmt}",
            "size": 100,
            "width": width,
            "height": width * 3 // 4,
        }
        for kind, width in (("thumb200", 200), ("thumb400", 400))
        for fmt in ("jpg", "webp")
    ]


async def test_variant_report_records_rows_and_the_status_flips_to_ready(app_server: AppServer):
    node = await app_server.node("s01")
    image = await _image(app_server)
    status_path = f"/api/v1/image/status/{image.uuid}"
    report_path = VARIANTS_PATH.format(image_uuid=image.uuid)
    async with app_server.client() as browser:
        before = (await browser.get(status_path)).json()
        async with app_server.client(headers=node) as client:
            report = {"state": "ready", "variants": _variants(str(image.uuid))}
            first = await client.post(report_path, json=report)
            again = await client.post(report_path, json=report)  # a resent report changes nothing
        after = await browser.get(status_path)
    assert before["state"] == "processing" and before.get("url") is None
    assert first.status_code == again.status_code == 200
    assert await ImageVariant.filter(image=image).count() == 4
    body = after.json()
    assert body["state"] == "ready"
    assert body["url"] == f"http://s01.pixelfox.test/uploads/{image.path}"
    assert body["view_url"] == f"{app_server.url}/i/{image.short_id}"
    assert sorted(v["url"] for v in body["variants"]) == sorted(
        f"http://s01.pixelfox.test/uploads/{v['path']}" for v in _variants(str(image.uuid))
    )
    assert after.headers["Cache-Control"] == "no-store"
    assert (await Image.get(id=image.id)).processed_at is not None


async def test_a_failed_report_marks_the_image_failed(app_server: AppServer):
    node = await app_server.node("s01")
    image = await _image(app_server)
    async with app_server.client(headers=node) as client:
        response = await client.post(
            VARIANTS_PATH.format(image_uuid=image.uuid),
            json={"state": "failed", "error": "libvips says no"},
        )
        status = await client.get(f"/api/v1/image/status/{image.uuid}")
    assert response.status_code == 200
    assert status.json()["state"] == "failed"
    assert status.json()["variants"] == []


async def test_variant_reports_are_refused_from_other_nodes_and_for_unsafe_paths(
    app_server: AppServer,
):
    node = await app_server.node("s01")
    other = await app_server.node("s02")
    image = await _image(app_server)
    path = VARIANTS_PATH.format(image_uuid=image.uuid)
    bad = _variants(str(image.uuid))[:1]
    bad[0]["path"] = "variants/../../../etc/cron.d/x"
    async with app_server.client() as client:
        foreign = await client.post(path, json={"state": "ready", "variants": []}, headers=other)
        unsafe = await client.post(path, json={"state": "ready", "variants": bad}, headers=node)
        unknown = await client.post(
            VARIANTS_PATH.format(image_uuid=uuid.uuid4()), json={"state": "ready"}, headers=node
        )
    assert (foreign.status_code, foreign.json()["error"]["code"]) == (403, "POOL_NOT_ON_NODE")
    assert (unsafe.status_code, unsafe.json()["error"]["code"]) == (400, "BAD_REQUEST")
    assert unknown.status_code == 404
    assert (await Image.get(id=image.id)).state == "processing"
    assert await ImageVariant.all().count() == 0


async def test_status_of_a_private_image_answers_only_its_owner(app_server: AppServer):
    image = await _image(app_server)
    await Image.filter(id=image.id).update(visibility="private")
    owner = await User.get(username="ada")
    stranger = await app_server.user("eve")
    path = f"/api/v1/image/status/{image.uuid}"
    async with await app_server.token_client(owner) as mine:
        seen = await mine.get(path)
    async with await app_server.token_client(stranger) as theirs:
        hidden = await theirs.get(path)
    async with app_server.client() as anonymous:
        nobody = await anonymous.get(path)
        garbage = await anonymous.get("/api/v1/image/status/not-a-uuid")
    assert seen.status_code == 200
    assert hidden.status_code == nobody.status_code == garbage.status_code == 404


async def test_an_id_beyond_any_row_in_a_path_is_not_found_not_a_server_error(
    app_server: AppServer,
):
    # Found by the fuzz run: 10**27 reached the database, which cannot bind it (500).
    node = await app_server.node("s01")
    async with app_server.client(headers=node) as client:
        for move_id, image_id in ((10**27, 0), (2**31, 1), (1, 2**31)):
            answer = await client.get(f"/api/internal/v1/moves/{move_id}/images/{image_id}")
            assert (answer.status_code, answer.json()["error"]["code"]) == (404, "NOT_FOUND")
