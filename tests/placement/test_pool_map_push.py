"""A pool change reaches a running node with its next heartbeat, and the app can tell
when every node holds it (``pixelfox nodes pool-maps --wait``): no fixed pause."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio

from pixelfox_app.internal.heartbeat import node_config
from pixelfox_app.models import StorageNode, StoragePool
from pixelfox_protocol.internal import UPLOAD_PATH
from tests.app import images
from tests.app.conftest import AppServer, Servers
from tests.support import PIXELFOX, ROOT, Service, free_port

pytestmark = pytest.mark.asyncio(loop_scope="module")


@dataclass
class Live:
    app: AppServer
    node: Service
    pool_id: int


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def live(servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Live]:
    tmp = tmp_path_factory.mktemp("poolmap")
    app = await servers.get("sqlite")
    port = free_port()
    node_url = f"http://127.0.0.1:{port}"
    (tmp / "pool").mkdir()
    headers = await app.node("s01")
    pool = await app.pool(
        "hot-s01",
        "s01",
        beat=False,
        base_path=str(tmp / "pool"),
        public_base_url=node_url,
        upload_api_url=node_url + UPLOAD_PATH,
        reserve_bytes=0,
    )
    node = Service(
        "s01",
        [*PIXELFOX, "serve-storage", "--bind", f"127.0.0.1:{port}"],
        app.node_env("s01", headers, tmp / "state"),
        tmp / "s01.log",
    )
    node.start(f"{node_url}/healthz")
    try:
        yield Live(app, node, pool.id)
    finally:
        node.stop()


def _pool_maps(app: AppServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PIXELFOX, "nodes", "pool-maps", *args],
        env=app.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def _current_version() -> str:
    return (await node_config(await StorageNode.get(node_id="s01"))).version


async def test_the_node_names_the_pool_map_it_holds_in_its_beat(live: Live):
    raw = await live.app.redis.get(live.app.keys.node_heartbeat("s01"))
    assert raw is not None
    assert json.loads(raw)["pool_map_version"] == await _current_version()

    settled = _pool_maps(live.app)

    assert settled.returncode == 0, settled.stdout + settled.stderr
    assert f"ok    s01: holds pool map {await _current_version()}" in settled.stdout


async def test_a_pool_made_inactive_is_refused_by_the_node_once_it_acknowledged_it(live: Live):
    user = await live.app.user("ada")
    data = images.jpeg(64, 48)
    async with await live.app.token_client(user) as script:
        session = (
            await script.post("/api/v1/upload/sessions", json={"file_size": len(data)})
        ).json()
    assert session["pool_id"] == live.pool_id, session

    await StoragePool.filter(id=live.pool_id).update(is_active=False)
    changed_at = time.monotonic()
    waited = _pool_maps(live.app, "--wait", "60")
    # A figure for the report, not an assertion: how long the change took to arrive.
    print(f"pool map acknowledged {time.monotonic() - changed_at:.1f} s after the change")

    assert waited.returncode == 0, waited.stdout + waited.stderr
    assert f"ok    s01: holds pool map {await _current_version()}" in waited.stdout
    async with httpx.AsyncClient(timeout=30) as client:
        refused = await client.post(
            session["upload_url"],
            headers={"Authorization": f"Bearer {session['token']}"},
            files={"file": ("cat.jpg", data, "image/jpeg")},
        )
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["code"] == "NO_STORAGE"
    await StoragePool.filter(id=live.pool_id).update(is_active=True)


async def test_pool_maps_says_which_node_still_holds_an_older_map(live: Live):
    # The node is stopped: its last beat stays fresh for a few seconds, naming the old map.
    live.node.stop()
    await StoragePool.filter(id=live.pool_id).update(reserve_bytes=1)

    behind = _pool_maps(live.app)

    assert behind.returncode == 1, behind.stdout
    assert f"current {await _current_version()}" in behind.stdout
    assert behind.stdout.startswith("wait  s01: holds pool map ")
