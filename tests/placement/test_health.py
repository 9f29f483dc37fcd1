"""A node leaves placement when its beat stops or its API fails; two healthy beats bring it back.

Each test times its beats from one clock reading (``now``), so the gaps between
beats are exactly what the test says however slow the machine; the beats a
placement reads right after are the newest, so their age is only the time the
test itself took.
"""

from __future__ import annotations

import time

import pytest

from pixelfox_app.models import StoragePool
from pixelfox_app.placement import NoEligiblePool
from pixelfox_app.placement.health import mark_down
from pixelfox_protocol.keys import NODE_HEALTH_TTL
from tests.placement.conftest import Fleet


@pytest.fixture
async def s01(fleet: Fleet) -> StoragePool:
    await fleet.node("s01")
    return await fleet.pool("hot-1", "s01")


async def _placeable(fleet: Fleet) -> bool | str:
    try:
        await fleet.place()
    except NoEligiblePool as refused:
        return refused.explanation.skipped[0].reason
    return True


async def test_a_new_node_is_placeable_on_its_first_healthy_beat(fleet: Fleet, s01: StoragePool):
    assert await fleet.beat("s01") == "up"
    assert await _placeable(fleet) is True
    health = await fleet.health("s01")
    assert health["state"] == "up"
    assert 0 < await fleet.redis.ttl(fleet.keys.node_health("s01")) <= NODE_HEALTH_TTL


async def test_after_its_beat_went_stale_a_node_needs_two_healthy_beats(
    fleet: Fleet, s01: StoragePool
):
    now = time.time()
    await fleet.beat("s01", at=now - 40)
    assert await _placeable(fleet) == "heartbeat_stale"

    first = await fleet.beat("s01", at=now)
    assert first == "down"
    assert await _placeable(fleet) == "node_recovering"
    assert (await fleet.health("s01"))["reason"] == "heartbeat stopped"

    assert await fleet.beat("s01") == "up"
    assert await _placeable(fleet) is True


async def test_a_failed_api_check_takes_the_node_out_until_two_healthy_beats(
    fleet: Fleet, s01: StoragePool
):
    now = time.time()
    await fleet.beat("s01", at=now - 2)
    await mark_down(fleet.redis, fleet.keys, "s01", "upload API of pool 1 failed: refused")
    await fleet.reachable(s01, False, "refused")
    assert await _placeable(fleet) == "node_recovering"

    # Beats while the API still fails do not count.
    assert await fleet.beat("s01", at=now - 1) == "down"
    assert (await fleet.health("s01"))["good"] == "0"
    assert "pool" in (await fleet.health("s01"))["reason"]

    await fleet.reachable(s01, True)
    assert await fleet.beat("s01", at=now) == "down"
    assert await _placeable(fleet) == "node_recovering"
    assert await fleet.beat("s01") == "up"
    assert await _placeable(fleet) is True


async def test_an_unhealthy_beat_starts_the_count_again(fleet: Fleet, s01: StoragePool):
    now = time.time()
    await mark_down(fleet.redis, fleet.keys, "s01", "test")
    assert await fleet.beat("s01", at=now - 9) == "down"  # 1 of 2
    await fleet.reachable(s01, False, "refused")
    assert await fleet.beat("s01", at=now - 6) == "down"  # unhealthy: 0 of 2
    await fleet.reachable(s01, True)
    assert await fleet.beat("s01", at=now - 3) == "down"  # 1 of 2
    assert await fleet.beat("s01", at=now) == "up"


async def test_a_healthy_node_stays_up_beat_after_beat(fleet: Fleet, s01: StoragePool):
    now = time.time()
    for seconds in (20, 15, 10, 5, 0):  # a beat every 5 s
        assert await fleet.beat("s01", at=now - seconds) == "up"
    assert await _placeable(fleet) is True


async def test_one_nodes_trouble_leaves_the_other_nodes_placeable(fleet: Fleet, s01: StoragePool):
    await fleet.node("s02")
    s02 = await fleet.pool("hot-2", "s02")
    await fleet.beat("s01")
    await fleet.beat("s02")
    await mark_down(fleet.redis, fleet.keys, "s01", "upload API failed")

    placement = await fleet.place()

    assert placement.pool.id == s02.id
    assert [(v.pool_id, v.reason) for v in placement.explanation.skipped] == [
        (s01.id, "node_recovering")
    ]
    assert "0 of 2 healthy beats" in placement.explanation.skipped[0].detail
