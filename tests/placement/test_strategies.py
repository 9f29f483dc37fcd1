"""The operator's strategies among eligible pools: least used, priority, weighted random."""

from __future__ import annotations

from collections import Counter

import pytest

from pixelfox_app.models import StoragePool
from pixelfox_app.placement import NoEligiblePool
from tests.placement.conftest import MB, TB, Fleet


async def _three_pools(fleet: Fleet, **per_pool: dict[str, object]) -> list[StoragePool]:
    pools = []
    for node in ("s01", "s02", "s03"):
        await fleet.node(node)
        pools.append(await fleet.pool(f"hot-{node}", node, **per_pool.get(node, {})))
    return pools


async def test_least_used_is_the_default_and_picks_the_smallest_used_share(fleet: Fleet):
    a, b, c = await _three_pools(fleet)
    await fleet.beat("s01", used={a.id: 300 * MB}, capacity=TB)
    # More bytes, but of a bigger disk: the smaller share wins.
    await fleet.beat("s02", used={b.id: 400 * MB}, capacity=4 * TB)
    await fleet.beat("s03", used={c.id: 200 * MB}, capacity=TB)

    placement = await fleet.place()

    assert placement.explanation.strategy == "least_used"
    assert placement.pool.id == b.id


async def test_least_used_spreads_a_burst_between_heartbeats(fleet: Fleet):
    pools = await _three_pools(fleet)
    for pool in pools:
        await fleet.beat(pool.node_id, used={pool.id: 100 * MB})

    chosen = [(await fleet.place(10 * MB)).pool.node_id for _ in range(6)]

    # Each placement promises 10 MB to its pool, so the next one goes elsewhere.
    assert Counter(chosen) == {"s01": 2, "s02": 2, "s03": 2}
    assert chosen[:3] == ["s01", "s02", "s03"]


async def test_priority_takes_the_lowest_number_then_the_least_used(fleet: Fleet):
    a, b, c = await _three_pools(
        fleet, s01={"priority": 20}, s02={"priority": 10}, s03={"priority": 10}
    )
    await fleet.strategy("priority")
    await fleet.beat("s01", used={a.id: 0})
    await fleet.beat("s02", used={b.id: 500 * MB})
    await fleet.beat("s03", used={c.id: 100 * MB})

    first = await fleet.place(MB)
    await fleet.beat("s03", used={c.id: 600 * MB})
    second = await fleet.place(MB)

    assert first.pool.id == c.id
    assert first.explanation.rule == "best priority 10, then least used"
    assert second.pool.id == b.id  # s01's empty pool never wins on priority 20


async def test_weighted_random_follows_the_weights(fleet: Fleet):
    a, b, c = await _three_pools(fleet, s01={"weight": 100}, s02={"weight": 300}, s03={"weight": 0})
    for pool in (a, b, c):
        await fleet.beat(pool.node_id)
    await fleet.strategy("weighted_random")

    counts: Counter[str] = Counter()
    for draw in range(400):
        placement = await fleet.place(1, seed=draw)
        counts[placement.pool.node_id] += 1

    assert counts["s03"] == 0
    assert 0.18 < counts["s01"] / 400 < 0.32  # expected 0.25
    skipped = {v.pool_id: v.reason for v in placement.explanation.skipped}
    assert skipped == {c.id: "zero_weight"}


async def test_weight_zero_matters_only_to_weighted_random(fleet: Fleet):
    await fleet.node("s01")
    only = await fleet.pool("only", "s01", weight=0)
    await fleet.beat("s01")

    assert (await fleet.place(strategy="least_used")).pool.id == only.id
    with pytest.raises(NoEligiblePool):
        await fleet.place(strategy="weighted_random")


async def test_an_unknown_strategy_setting_falls_back_to_least_used(fleet: Fleet):
    a, b, c = await _three_pools(fleet)
    await fleet.beat("s01", used={a.id: 10 * MB})
    await fleet.beat("s02", used={b.id: 0})
    await fleet.beat("s03", used={c.id: 20 * MB})

    placement = await fleet.place(strategy="round_robin")

    assert placement.explanation.strategy == "least_used"
    assert placement.pool.id == b.id
