"""A real node beating into a real app, and the real control worker checking its upload API."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from pixelfox_app.nodequeue import connect
from pixelfox_protocol.internal import UPLOAD_PATH
from tests.app import images
from tests.app.conftest import AppServer, Servers
from tests.support import PIXELFOX, Service, eventually, free_port

pytestmark = pytest.mark.asyncio(loop_scope="module")

# A pool with enough files that counting them takes a moment: the start-up beat
# must wait for that count, not report the pool as empty meanwhile.
PRESENT_FILES = 3000
PRESENT_BYTES = PRESENT_FILES * 4 + 345


@dataclass
class Live:
    app: AppServer
    node: Service
    worker: Service
    node_url: str
    pool_id: int
    pool_dir: Path


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def live(servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Live]:
    tmp = tmp_path_factory.mktemp("live")
    app = await servers.get("sqlite")
    port = free_port()
    node_url = f"http://127.0.0.1:{port}"
    pool_dir = tmp / "pool"
    (pool_dir / "original").mkdir(parents=True)
    (pool_dir / "original" / "old.bin").write_bytes(b"x" * 345)
    for n in range(PRESENT_FILES):
        folder = pool_dir / "variants" / f"{n % 30:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{n}.webp").write_bytes(b"abcd")
    headers = await app.node("s01")
    pool = await app.pool(
        "hot-s01",
        "s01",
        beat=False,
        base_path=str(pool_dir),
        public_base_url=node_url,
        upload_api_url=node_url + UPLOAD_PATH,
        reserve_bytes=0,
    )
    node_env = app.node_env("s01", headers, tmp / "state")
    node = Service(
        "s01",
        [*PIXELFOX, "serve-storage", "--bind", f"127.0.0.1:{port}"],
        node_env,
        tmp / "s01.log",
    )
    worker = Service(
        "control-worker",
        [*PIXELFOX, "control-worker"],
        {**app.env, "PIXELFOX_WORKER_METRICS_BIND": "off"},
        tmp / "control.log",
    )
    node.start(f"{node_url}/healthz")
    try:
        yield Live(app, node, worker, node_url, pool.id, pool_dir)
    finally:
        worker.stop()
        node.stop()


async def _beat(live: Live) -> dict[str, Any] | None:
    raw = await live.app.redis.get(live.app.keys.node_heartbeat("s01"))
    return json.loads(raw) if raw else None


async def test_the_first_beat_arrives_before_the_node_takes_uploads(live: Live):
    # The node answered /healthz: its start-up beat is in already.
    beat = await _beat(live)
    assert beat is not None
    assert beat["version"] == "0.1.0" and beat["active_uploads"] == 0
    (pool,) = beat["pools"]
    assert pool["pool_id"] == live.pool_id
    assert pool["used_bytes"] == PRESENT_BYTES
    assert pool["free_bytes"] > 0 and pool["capacity_bytes"] >= pool["free_bytes"]
    health = await live.app.redis.hgetall(live.app.keys.node_health("s01"))  # type: ignore[misc]
    assert health[b"state"] == b"up"


async def test_beats_begin_every_five_seconds_with_the_queue_depths(live: Live):
    arq = connect(live.app.env["PIXELFOX_REDIS_URL"])
    try:
        job = await arq.enqueue_job(
            "no_worker_runs_this", _queue_name=live.app.keys.node_queue("s01")
        )
        assert job is not None
        first = await _beat(live)
        assert first is not None
        later = await eventually(lambda: _later_beat(live, first["received_at"]), seconds=10)
        assert later is not None, "no beat within 10 s"
        # Begun start to start by the node's clock: the app's receipt times would
        # add each beat's own latency (the first beat's includes its pool scan).
        assert 4.9 <= later["sent_at"] - first["sent_at"] <= 6.5
        assert later["queue_depth"] == 1 and later["background_queue_depth"] == 0
    finally:
        await arq.delete(live.app.keys.node_queue("s01"), f"arq:job:{job.job_id}")
        await arq.aclose()


async def _later_beat(live: Live, after: float) -> dict[str, Any] | None:
    beat = await _beat(live)
    return beat if beat is not None and beat["received_at"] > after else None


async def test_an_upload_shows_in_the_next_beats_used_bytes(live: Live):
    user = await live.app.user("ada")
    data = images.jpeg(320, 240)
    async with await live.app.token_client(user) as script:
        session = (
            await script.post("/api/v1/upload/sessions", json={"file_size": len(data)})
        ).json()
    before = await _beat(live)
    assert before is not None
    async with httpx.AsyncClient(timeout=30) as client:
        uploaded = await client.post(
            session["upload_url"],
            headers={"Authorization": f"Bearer {session['token']}"},
            files={"file": ("cat.jpg", data, "image/jpeg")},
        )
    assert uploaded.status_code == 201, uploaded.text
    after = await eventually(lambda: _later_beat(live, before["received_at"]), seconds=7)
    assert after is not None
    assert after["pools"][0]["used_bytes"] == PRESENT_BYTES + len(data)


async def test_the_control_worker_checks_the_upload_api_and_takes_a_dead_node_out(live: Live):
    key = live.app.keys.pool_reachable(live.pool_id)
    live.worker.start()

    async def reachable() -> dict[str, Any] | None:
        raw = await live.app.redis.get(key)
        return json.loads(raw) if raw else None

    first = await eventually(reachable, seconds=15)
    assert first is not None and first["ok"] is True, live.worker.log()
    live.node.kill()
    killed_at = time.time()
    failed = await eventually(lambda: _checked_after(reachable, killed_at, ok=False), seconds=10)
    assert failed is not None, live.worker.log()
    assert time.time() - killed_at < 10
    health = await live.app.redis.hgetall(live.app.keys.node_health("s01"))  # type: ignore[misc]
    assert health[b"state"] == b"down"
    user = await live.app.user("bob")
    async with await live.app.token_client(user) as script:
        refused = await script.post("/api/v1/upload/sessions", json={"file_size": 100})
    assert refused.json()["error"]["code"] == "NO_STORAGE"


async def _checked_after(
    read: Callable[[], Awaitable[dict[str, Any] | None]], after: float, *, ok: bool
) -> dict[str, Any] | None:
    value = await read()
    if value is not None and value["checked_at"] > after and value["ok"] is ok:
        return value
    return None
