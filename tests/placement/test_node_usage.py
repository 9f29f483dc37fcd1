"""The node's running figures: used bytes between scans, and server errors per minute."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from pathlib import Path

import pytest

from pixelfox_protocol.internal import PoolInfo
from pixelfox_storage.config import StorageSettings
from pixelfox_storage.heartbeat import ErrorRate, HeartbeatSender
from pixelfox_storage.usage import UsageTracker, note_ingested, scan_used_bytes

POOL_ID = 987_654  # a label no other test in this process uses
PRESENT_BYTES = 4321


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

    note_ingested(POOL_ID, 300)

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


def _pool_with_files(tmp_path: Path) -> PoolInfo:
    base = tmp_path / "pool"
    (base / "original").mkdir(parents=True)
    (base / "original" / "old.bin").write_bytes(b"x" * PRESENT_BYTES)
    return PoolInfo(id=POOL_ID + 1, name="big", base_path=str(base), tier="hot", is_active=True)


def _sender(tmp_path: Path, pool: PoolInfo, tracker: UsageTracker) -> HeartbeatSender:
    settings = StorageSettings(node_id="s01", state_dir=tmp_path / "state")
    return HeartbeatSender(settings, "test", lambda: [pool], lambda: None, usage=tracker)


# A scan that takes long stands for a pool of millions of files: the real scan,
# started late (a slow disk cannot be made on demand).


async def test_the_start_up_beat_waits_for_the_first_scan_of_an_unmeasured_pool(tmp_path: Path):
    pool = _pool_with_files(tmp_path)

    def slow_scan(base: Path) -> int:
        time.sleep(0.5)
        return scan_used_bytes(base)

    tracker = UsageTracker(tmp_path / "state", scan=slow_scan)
    sender = _sender(tmp_path, pool, tracker)

    beat = await sender.build(wait_for_scan=30)

    assert [p.used_bytes for p in beat.pools] == [PRESENT_BYTES]


async def test_a_pool_still_being_scanned_is_reported_by_its_disk_never_as_empty(tmp_path: Path):
    pool = _pool_with_files(tmp_path)
    released = threading.Event()

    def held_scan(base: Path) -> int:
        released.wait(30)
        return scan_used_bytes(base)

    tracker = UsageTracker(tmp_path / "state", scan=held_scan)
    sender = _sender(tmp_path, pool, tracker)
    try:
        beat = await sender.build(wait_for_scan=0.2)
        disk_used = shutil.disk_usage(pool.base_path).used
    finally:
        released.set()

    [reported] = beat.pools
    # The disk's used bytes include the pool's: the pool looks fuller, never empty.
    assert reported.used_bytes >= PRESENT_BYTES
    assert reported.used_bytes == pytest.approx(disk_used, rel=0.05)
    expected_pct = 100.0 * reported.used_bytes / reported.capacity_bytes
    assert reported.used_pct == pytest.approx(expected_pct, abs=0.001)
    # Once the scan is done, the beat says exactly what the pool holds.
    assert tracker._scanning is not None
    await tracker._scanning
    assert [p.used_bytes for p in (await sender.build()).pools] == [PRESENT_BYTES]
