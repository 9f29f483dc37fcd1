"""The node's running figures: used bytes between scans, and server errors per minute."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pixelfox_common import metrics
from pixelfox_protocol.internal import PoolInfo
from pixelfox_storage.heartbeat import ErrorRate, UsageTracker, scan_used_bytes

POOL_ID = 987_654  # a label no other test in this process uses


def _pool(base: Path) -> PoolInfo:
    return PoolInfo(id=POOL_ID, name="p", base_path=str(base), tier="hot", is_active=True)


def test_a_scan_counts_every_file_below_the_pool_but_follows_no_symlink(tmp_path: Path):
    (tmp_path / "original" / "2026").mkdir(parents=True)
    (tmp_path / "original" / "2026" / "a.jpg").write_bytes(b"x" * 1000)
    (tmp_path / "variants").mkdir()
    (tmp_path / "variants" / "a_thumb.webp").write_bytes(b"y" * 234)
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (outside / "big.bin").write_bytes(b"z" * 10_000)
    (tmp_path / "link").symlink_to(outside)

    assert scan_used_bytes(tmp_path) == 1234


async def test_used_bytes_are_the_last_scan_plus_what_was_stored_since(tmp_path: Path):
    (tmp_path / "old.bin").write_bytes(b"x" * 500)
    tracker = UsageTracker(tmp_path / "state", rescan_seconds=3600)
    tracker.maybe_rescan([_pool(tmp_path)])
    assert tracker._scanning is not None
    await tracker._scanning

    metrics.count_bytes_ingested(300, POOL_ID)

    assert tracker.used(POOL_ID) == 800
    # A new tracker (a restarted node) starts from the remembered scan, not from zero.
    restarted = UsageTracker(tmp_path / "state")
    restarted.load()
    assert restarted.pools[POOL_ID].scanned == 500


async def test_no_second_scan_runs_while_one_is_going_and_none_before_it_is_due(tmp_path: Path):
    tracker = UsageTracker(tmp_path / "state", rescan_seconds=3600)
    tracker.maybe_rescan([_pool(tmp_path)])
    first = tracker._scanning
    tracker.maybe_rescan([_pool(tmp_path)])
    assert tracker._scanning is first
    assert first is not None
    await first
    tracker.maybe_rescan([_pool(tmp_path)])
    assert tracker._scanning is first  # not due again for an hour
    await asyncio.sleep(0)


def test_error_rate_is_per_minute_over_the_last_minute():
    rate = ErrorRate()
    assert rate.sample(0.0, 10) == 0.0
    assert rate.sample(30.0, 13) == 6.0  # 3 errors in 30 s
    assert rate.sample(60.0, 13) == 3.0  # 3 in the last 60 s
    # Older samples fall out of the window: nothing new for 90 s reads zero.
    rate.sample(120.0, 13)
    assert rate.sample(150.0, 13) == 0.0
