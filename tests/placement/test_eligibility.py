"""Every reason a pool is skipped, and what the explanation says about it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pixelfox_app.models import NodeState, StoragePool
from pixelfox_app.placement import REASONS, NoEligiblePool
from pixelfox_app.placement.eligibility import PoolFacts, judge_direct, verdict_for
from pixelfox_app.placement.explain import Verdict
from pixelfox_app.placement.health import FRESH_SECONDS, StoredBeat
from pixelfox_protocol.internal import Heartbeat, PoolHeartbeat
from tests.placement.conftest import MB, TB, Fleet, ago


async def _skipped_reason(fleet: Fleet, pool: StoragePool, **place: object) -> str:
    """Place with a healthy fallback pool on s09 present; the reason ``pool`` was skipped."""
    placement = await fleet.place(**place)  # type: ignore[arg-type]
    assert placement.pool.node_id == "s09", placement.explanation.summary()
    reasons = {v.pool_id: v.reason for v in placement.explanation.skipped}
    return reasons[pool.id]


@pytest.fixture
async def fallback(fleet: Fleet) -> StoragePool:
    """A healthy pool on s09 that takes whatever the pool under test cannot."""
    await fleet.node("s09")
    pool = await fleet.pool("fallback", "s09", priority=500)
    await fleet.beat("s09", used={pool.id: TB // 2})
    return pool


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        pytest.param({"is_active": False}, "pool_inactive", id="inactive"),
        pytest.param({"is_upload_target": False}, "not_upload_target", id="not-a-target"),
        pytest.param({"tier": "warm"}, "not_hot", id="warm"),
    ],
)
async def test_pools_the_operator_excluded_are_skipped_with_their_reason(
    fleet: Fleet, fallback: StoragePool, fields: dict[str, object], reason: str
):
    await fleet.node("s01")
    pool = await fleet.pool("p1", "s01", **fields)
    await fleet.beat("s01")

    assert await _skipped_reason(fleet, pool) == reason


async def test_pools_of_a_deactivated_node_are_skipped(fleet: Fleet, fallback: StoragePool):
    await fleet.node("s01", is_active=False)
    pool = await fleet.pool("p1", "s01")
    await fleet.beat("s01")

    assert await _skipped_reason(fleet, pool) == "node_inactive"


async def test_a_node_the_client_avoids_is_skipped(fleet: Fleet, fallback: StoragePool):
    await fleet.node("s01")
    pool = await fleet.pool("p1", "s01")
    await fleet.beat("s01")

    assert await _skipped_reason(fleet, pool, avoid=("s01",)) == "node_avoided"
    assert (await fleet.place()).pool.id == pool.id  # it was the better pool otherwise


async def test_a_node_that_never_beat_is_skipped(fleet: Fleet, fallback: StoragePool):
    await fleet.node("s01")
    pool = await fleet.pool("p1", "s01")

    assert await _skipped_reason(fleet, pool) == "no_heartbeat"


async def test_a_node_whose_last_beat_is_older_than_12_seconds_is_skipped(
    fleet: Fleet, fallback: StoragePool
):
    await fleet.node("s01")
    pool = await fleet.pool("p1", "s01")
    await fleet.beat("s01", at=ago(13))

    placement = await fleet.place()

    verdict = next(v for v in placement.explanation.skipped if v.pool_id == pool.id)
    assert verdict.reason == "heartbeat_stale"
    assert verdict.heartbeat_age is not None and verdict.heartbeat_age >= 13
    assert "limit 12.0 s" in verdict.detail


async def test_a_beat_as_old_as_the_limit_still_counts_as_fresh_and_a_tenth_more_does_not(
    fleet: Fleet,
):
    # The rule on its own, at a clock the test sets: a placement reading a real
    # clock would age the beat by however long the test took to get there.
    node = await fleet.node("s01")
    pool = await fleet.pool("p1", "s01")
    beat = StoredBeat(Heartbeat(node_id="s01", version="test", pools=[_reported(pool)]), 1000.0)

    def judged(age: float) -> Verdict:
        facts = PoolFacts(pool=pool, node=node, beat=beat)
        return judge_direct(verdict_for(pool), facts, MB, now=1000.0 + age)

    assert judged(FRESH_SECONDS).eligible
    stale = judged(FRESH_SECONDS + 0.1)
    assert (stale.reason, stale.heartbeat_age) == ("heartbeat_stale", 12.1)


def _reported(pool: StoragePool) -> PoolHeartbeat:
    return PoolHeartbeat(
        pool_id=pool.id, free_bytes=TB, used_bytes=0, capacity_bytes=TB, used_pct=0.0
    )


async def test_a_pool_whose_upload_api_failed_its_check_is_skipped(
    fleet: Fleet, fallback: StoragePool
):
    await fleet.node("s01")
    pool = await fleet.pool("p1", "s01")
    await fleet.beat("s01")
    await fleet.reachable(pool, False, "ConnectError: connection refused")

    placement = await fleet.place()

    verdict = next(v for v in placement.explanation.skipped if v.pool_id == pool.id)
    assert (verdict.reason, verdict.detail) == (
        "upload_api_unreachable",
        "ConnectError: connection refused",
    )
    assert verdict.upload_api_reachable is False


async def test_an_unchecked_upload_api_does_not_block_placement(fleet: Fleet):
    await fleet.node("s01")
    pool = await fleet.pool("p1", "s01")
    await fleet.beat("s01")

    placement = await fleet.place()

    assert placement.pool.id == pool.id
    assert placement.explanation.chosen is not None
    assert placement.explanation.chosen.upload_api_reachable is None


async def test_a_pool_the_heartbeat_does_not_report_is_skipped(fleet: Fleet, fallback: StoragePool):
    await fleet.node("s01")
    pool = await fleet.pool("p1", "s01")
    await fleet.beat("s01", skip=(pool.id,))

    assert await _skipped_reason(fleet, pool) == "pool_not_reported"


async def test_a_pool_whose_free_space_would_fall_below_its_reserve_is_skipped(
    fleet: Fleet, fallback: StoragePool
):
    await fleet.node("s01")
    pool = await fleet.pool("p1", "s01", reserve_bytes=100 * MB)
    await fleet.beat("s01", free=100 * MB + MB - 1)

    placement = await fleet.place(MB)

    verdict = next(v for v in placement.explanation.skipped if v.pool_id == pool.id)
    assert verdict.reason == "no_room"
    assert (verdict.free_after_bytes, verdict.reserve_bytes) == (100 * MB - 1, 100 * MB)


async def test_exactly_the_reserve_left_after_the_upload_is_enough(fleet: Fleet):
    await fleet.node("s01")
    pool = await fleet.pool("p1", "s01", reserve_bytes=100 * MB)
    await fleet.beat("s01", free=101 * MB)

    assert (await fleet.place(MB)).pool.id == pool.id


async def test_the_operators_capacity_caps_free_space_below_the_disks(
    fleet: Fleet, fallback: StoragePool
):
    await fleet.node("s01")
    pool = await fleet.pool("p1", "s01", capacity_bytes=50 * MB, reserve_bytes=10 * MB)
    # The disk is huge, but the pool may use 50 MB and holds 40 MB already.
    await fleet.beat("s01", used={pool.id: 40 * MB}, free=TB)

    assert await _skipped_reason(fleet, pool, size=1 * MB) == "no_room"


async def test_bytes_promised_to_earlier_sessions_count_against_free_space(
    fleet: Fleet, fallback: StoragePool
):
    await fleet.node("s01")
    pool = await fleet.pool("p1", "s01", reserve_bytes=10 * MB)
    await fleet.beat("s01", free=15 * MB)

    first = await fleet.place(3 * MB)
    second = await fleet.place(3 * MB)

    assert first.pool.id == pool.id
    assert second.pool.id == fallback.id
    assert next(v for v in second.explanation.skipped if v.pool_id == pool.id).reason == "no_room"
    # The node's next beat settles the promise (its free space now includes the file).
    await fleet.beat("s01", free=12 * MB + 1)
    assert (await fleet.place(2 * MB)).pool.id == pool.id


async def test_no_eligible_pool_is_no_storage_with_every_pool_explained(fleet: Fleet):
    await fleet.node("s01")
    await fleet.node("s02", is_active=False)
    stale = await fleet.pool("stale", "s01")
    off = await fleet.pool("off", "s02")
    cold = await fleet.pool("cold", "s01", tier="cold")
    await fleet.beat("s01", at=ago(20))

    with pytest.raises(NoEligiblePool) as refused:
        await fleet.place()

    assert refused.value.code == "NO_STORAGE" and refused.value.status == 503
    explanation = refused.value.explanation
    assert explanation.chosen is None and explanation.candidates == []
    reasons = {v.pool_id: (v.reason, v.detail) for v in explanation.skipped}
    assert reasons[stale.id][0] == "heartbeat_stale"
    assert reasons[off.id] == ("node_inactive", REASONS["node_inactive"])
    assert reasons[cold.id] == ("not_hot", "the pool's tier is cold, not hot")


async def test_placement_never_picks_a_draining_or_retired_node_even_while_it_beats(fleet: Fleet):
    await fleet.node("s01")
    await fleet.node("s02", state=NodeState.DRAINING)
    await fleet.node("s03", state=NodeState.RETIRED, is_active=False)
    live = await fleet.pool("live", "s01")
    draining = await fleet.pool("draining", "s02")
    retired = await fleet.pool("retired", "s03")
    for node in ("s01", "s02", "s03"):
        await fleet.beat(node)

    placed = await fleet.place()

    assert placed.pool.id == live.id
    reasons = {v.pool_id: v.reason for v in placed.explanation.skipped}
    assert reasons == {draining.id: "node_draining", retired.id: "node_retired"}


async def test_the_explanation_names_the_choice_the_rule_and_each_candidate(fleet: Fleet):
    for node in ("s01", "s02"):
        await fleet.node(node)
    a = await fleet.pool("a", "s01", region="eu-central", priority=10, weight=30)
    b = await fleet.pool("b", "s02", region="us-east")
    await fleet.beat("s01", used={a.id: TB // 4})
    await fleet.beat("s02", used={b.id: TB // 2})

    explanation = (await fleet.place(2 * MB, avoid=("s07",))).explanation.to_dict()

    assert explanation["mode"] == "direct"
    assert explanation["strategy"] == "least_used"
    assert explanation["file_size"] == 2 * MB
    assert explanation["avoid_nodes"] == ["s07"]
    assert explanation["chosen"]["pool_id"] == a.id
    assert explanation["chosen"]["node_id"] == "s01"
    assert explanation["chosen"]["used_pct"] == 25.0
    assert explanation["chosen"]["free_after_bytes"] == TB - 2 * MB
    assert explanation["rule"] == "least used: 25.000 % of capacity"
    assert [c["pool_id"] for c in explanation["candidates"]] == [a.id, b.id]
    assert explanation["skipped"] == []


async def test_proxy_mode_ignores_heartbeats_and_measures_the_apps_own_disk(
    fleet: Fleet, tmp_path: Path
):
    await fleet.node("local")
    here = await fleet.pool("here", "local", base_path=str(tmp_path), reserve_bytes=MB)
    elsewhere = await fleet.pool("elsewhere", "s01", base_path=str(tmp_path / "absent"))
    full = await fleet.pool("full", "local", base_path=str(tmp_path), reserve_bytes=1 << 60)

    placement = await fleet.place(local_only=True)

    assert placement.pool.id == here.id
    assert placement.explanation.mode == "proxy"
    reasons = {v.pool_id: v.reason for v in placement.explanation.skipped}
    assert reasons == {elsewhere.id: "not_on_this_host", full.id: "no_room"}
