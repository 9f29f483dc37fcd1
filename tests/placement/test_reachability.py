"""The upload API check on a real storage service: HEAD → 204 within 2 s, or the node is out."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from pixelfox_app.config import AppSettings
from pixelfox_app.placement import NoEligiblePool
from pixelfox_app.placement.reachability import CHECK_TIMEOUT, check_pools, local_fallback_url
from pixelfox_protocol.internal import UPLOAD_PATH
from pixelfox_protocol.keys import REACHABILITY_TTL
from tests.conftest import REDIS_URL
from tests.placement.conftest import Fleet
from tests.support import PIXELFOX, Service, free_port


@pytest.fixture
def storage(tmp_path: Path, redis_prefix: str) -> Iterator[tuple[Service, int]]:
    """A storage service that knows its pool from the override (no app, no heartbeat)."""
    port = free_port()
    (tmp_path / "pool").mkdir()
    env = {
        "PIXELFOX_NODE_ID": "s01",
        "PIXELFOX_NODE_POOLS": f"1={tmp_path / 'pool'}",
        "PIXELFOX_HEARTBEAT_SECONDS": "0",
        "PIXELFOX_REDIS_URL": REDIS_URL,
        "PIXELFOX_REDIS_PREFIX": redis_prefix,
        "PIXELFOX_STATE_DIR": str(tmp_path / "state"),
        "PIXELFOX_METRICS_BIND": "off",
    }
    service = Service(
        "s01",
        [*PIXELFOX, "serve-storage", "--bind", f"127.0.0.1:{port}"],
        env,
        tmp_path / "s01.log",
    )
    service.start(f"http://127.0.0.1:{port}/healthz")
    try:
        yield service, port
    finally:
        service.stop()


async def _stored(fleet: Fleet, pool_id: int) -> dict[str, object]:
    return json.loads(await fleet.redis.get(fleet.keys.pool_reachable(pool_id)))


async def test_a_node_answering_head_with_204_is_reachable(fleet: Fleet, storage):
    _, port = storage
    await fleet.node("s01")
    pool = await fleet.pool("p1", "s01", upload_api_url=f"http://127.0.0.1:{port}{UPLOAD_PATH}")

    results = await check_pools(fleet.redis, fleet.keys, AppSettings())

    assert results[pool.id].ok and results[pool.id].status == 204
    stored = await _stored(fleet, pool.id)
    assert stored["ok"] is True and stored["url"] == f"http://127.0.0.1:{port}{UPLOAD_PATH}"
    assert 0 < await fleet.redis.ttl(fleet.keys.pool_reachable(pool.id)) <= REACHABILITY_TTL
    assert f'pixelfox_upload_api_up{{pool="{pool.id}"}} 1.0' in generate_latest().decode()


async def test_a_stopped_node_is_unreachable_and_leaves_placement(fleet: Fleet, storage):
    service, port = storage
    await fleet.node("s01")
    pool = await fleet.pool("p1", "s01", upload_api_url=f"http://127.0.0.1:{port}{UPLOAD_PATH}")
    await fleet.beat("s01")
    assert (await fleet.place()).pool.id == pool.id

    service.kill()
    results = await check_pools(fleet.redis, fleet.keys, AppSettings())

    # Refused at once (a ConnectError, not a timeout): nothing waited for the limit.
    assert not results[pool.id].ok and "ConnectError" in results[pool.id].error
    assert (await _stored(fleet, pool.id))["ok"] is False
    assert f'pixelfox_upload_api_up{{pool="{pool.id}"}} 0.0' in generate_latest().decode()
    with pytest.raises(NoEligiblePool) as refused:
        await fleet.place()
    assert [(v.pool_id, v.reason) for v in refused.value.explanation.skipped] == [
        (pool.id, "node_recovering")
    ]
    health = await fleet.health("s01")
    assert health["state"] == "down" and "upload API of pool" in health["reason"]


async def test_a_node_that_accepts_but_never_answers_is_unreachable_after_the_check_timeout(
    fleet: Fleet,
):
    await fleet.node("s01")
    with socket.create_server(("127.0.0.1", free_port())) as silent:  # the kernel accepts
        url = f"http://127.0.0.1:{silent.getsockname()[1]}{UPLOAD_PATH}"
        pool = await fleet.pool("p1", "s01", upload_api_url=url)
        started = time.monotonic()
        results = await check_pools(fleet.redis, fleet.keys, AppSettings())
        waited = time.monotonic() - started

    assert not results[pool.id].ok and "Timeout" in results[pool.id].error
    assert waited >= CHECK_TIMEOUT


async def test_an_answer_other_than_204_counts_as_unreachable(fleet: Fleet, storage):
    _, port = storage
    await fleet.node("s01")
    pool = await fleet.pool("p1", "s01", upload_api_url=f"http://127.0.0.1:{port}/healthz")

    results = await check_pools(fleet.redis, fleet.keys, AppSettings())

    assert (results[pool.id].ok, results[pool.id].error) == (False, "HTTP 200")


async def test_pools_not_taking_uploads_are_not_checked(fleet: Fleet):
    await fleet.node("s01")
    off = await fleet.pool("off", "s01", is_active=False)
    resting = await fleet.pool("resting", "s01", is_upload_target=False)

    assert await check_pools(fleet.redis, fleet.keys, AppSettings()) == {}
    assert await fleet.redis.get(fleet.keys.pool_reachable(off.id)) is None
    assert await fleet.redis.get(fleet.keys.pool_reachable(resting.id)) is None
    # Nor do they keep an upload API series (a pool that left placement stops alerting).
    assert "pixelfox_upload_api_up{" not in generate_latest().decode()


async def test_the_dev_fallback_tries_127_0_0_1_for_node_local_only(fleet: Fleet, storage):
    _, port = storage
    # Nothing listens on 127.0.0.2; the same port on 127.0.0.1 is the storage service.
    unreachable_url = f"http://127.0.0.2:{port}{UPLOAD_PATH}"
    local = await fleet.pool("local", "local", upload_api_url=unreachable_url)
    remote = await fleet.pool("remote", "s03", upload_api_url=unreachable_url)

    results = await check_pools(fleet.redis, fleet.keys, AppSettings())

    assert results[local.id].ok and results[local.id].url == f"http://127.0.0.1:{port}{UPLOAD_PATH}"
    assert not results[remote.id].ok


def test_the_fallback_url_keeps_the_port_and_defaults_it_by_scheme():
    assert local_fallback_url("http://0.0.0.0:8080/x") == f"http://127.0.0.1:8080{UPLOAD_PATH}"
    assert local_fallback_url("https://img.example.net/x") == f"https://127.0.0.1:443{UPLOAD_PATH}"
    assert local_fallback_url("http://127.0.0.1:8081/x") is None
