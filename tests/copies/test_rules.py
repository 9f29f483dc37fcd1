"""The rules of copies that need no processes: the default factor, the lag's percentiles, and
which surplus copy goes first."""

from __future__ import annotations

import pytest

from pixelfox_app.copies.factor import default_factor, effective_factor
from pixelfox_app.copies.stats import percentile
from pixelfox_app.copies.surplus import Standing, removal_order
from pixelfox_app.models import StoragePool


@pytest.mark.parametrize(("nodes", "factor"), [(0, 1), (1, 1), (2, 2), (5, 2)])
def test_the_default_is_two_copies_once_there_are_two_storage_nodes(nodes: int, factor: int):
    assert default_factor(nodes) == factor


def test_a_pools_own_factor_wins_over_the_default_and_stays_within_1_to_3():
    assert effective_factor(StoragePool(name="p", base_path="/p", replication_factor=3), 2) == 3
    assert effective_factor(StoragePool(name="p", base_path="/p", replication_factor=1), 5) == 1
    assert effective_factor(StoragePool(name="p", base_path="/p"), 3) == 2
    assert effective_factor(StoragePool(name="p", base_path="/p", replication_factor=9), 1) == 3


def test_lag_percentiles_are_nearest_rank_and_zero_without_pending_copies():
    assert percentile([], 0.95) == 0.0
    ages = [float(n) for n in range(1, 101)]
    assert percentile(ages, 0.5) == 50.0
    assert percentile(ages, 0.95) == 95.0
    assert percentile([7.0], 0.95) == 7.0


def test_the_surplus_copy_removed_first_is_the_least_healthy_then_a_zones_second_then_fullest():
    sick = Standing(copy_id=1, healthy=False, used_pct=10.0)
    twin = Standing(copy_id=2, healthy=True, used_pct=20.0, shares_zone=True)
    full = Standing(copy_id=3, healthy=True, used_pct=90.0)
    empty = Standing(copy_id=4, healthy=True, used_pct=5.0)
    assert removal_order([empty, full, twin, sick]) == [1, 2, 3, 4]
    # Alike in every way: the newer copy goes, the older one stays.
    assert removal_order([Standing(5, True, 1.0), Standing(9, True, 1.0)]) == [9, 5]
