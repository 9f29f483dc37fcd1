"""A move's plan and preflight (dry run), its throttle and its time window, on the live stack."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from pixelfox_app.models import Move, StoragePool
from pixelfox_app.moves.throttle import Throttle
from tests.moves.conftest import Stack

pytestmark = pytest.mark.asyncio(loop_scope="package")


def _plan(stack: Stack, source: str, target: str = "", **extra: Any) -> httpx.Response:
    return httpx.post(
        f"{stack.app_url}/api/v1/admin/moves/plan",
        json={"source": source, "target": target, **extra},
        headers=stack.admin,
    )


def _checks(plan: dict[str, Any]) -> dict[str, bool | None]:
    return {c["name"]: c["ok"] for c in plan["checks"]}


def _closed_window() -> str:
    """A one-minute window an hour from now (UTC): closed for the whole test."""
    start = datetime.now(UTC) + timedelta(hours=1)
    return f"{start:%H:%M}-{start + timedelta(minutes=1):%H:%M}"


async def test_a_dry_run_counts_originals_and_variants_and_passes_the_preflight(stack: Stack):
    source, target = await stack.pool("s01"), await stack.pool("s02")
    images = [await stack.image(source, variants=2) for _ in range(3)]
    moves_before = await Move.all().count()

    answer = _plan(stack, source.name, target.name, throttle={"images_per_second": 1.5})

    assert answer.status_code == 200, answer.text
    plan = answer.json()
    originals = sum(len(s.files[s.path]) for s in images)
    everything = sum(len(d) for s in images for d in s.files.values())
    assert (plan["images"], plan["originals_bytes"]) == (3, originals)
    assert plan["variants_bytes"] == everything - originals
    assert [(t["pool"], t["images"], t["bytes"]) for t in plan["targets"]] == [
        (target.name, 3, everything)
    ]
    assert plan["targets"][0]["free_bytes_after"] > 0
    assert plan["eta_seconds"] == pytest.approx(2.0)  # 3 images at 1.5 images/s
    assert _checks(plan) == {
        "target_active": True,
        "target_fresh": True,
        "target_reachable": True,
        "target_room": True,
        "source_drain": True,
    }
    assert plan["ready"] is True
    assert await Move.all().count() == moves_before  # nothing started


async def test_the_preflight_fails_an_inactive_target_and_one_without_room(stack: Stack):
    source, inactive, full = (
        await stack.pool("s01"),
        await stack.pool("s02"),
        await stack.pool("s02"),
    )
    await stack.image(source)
    await StoragePool.filter(id=inactive.id).update(is_active=False)
    await StoragePool.filter(id=full.id).update(reserve_bytes=10**18)

    refused = _plan(stack, source.name, inactive.name).json()
    no_room = _plan(stack, source.name, full.name).json()

    assert _checks(refused)["target_active"] is False
    assert _checks(refused)["target_room"] is None  # not checked after the first failure
    assert refused["ready"] is False
    assert _checks(no_room)["target_active"] is True
    assert _checks(no_room)["target_room"] is False
    assert no_room["ready"] is False
    assert stack.ask_move(source.name, full.name).json()["error"]["code"] == "STORAGE_FULL"


async def test_start_takes_the_source_out_of_placement(stack: Stack):
    source, target = await stack.pool("s01"), await stack.pool("s02")
    await stack.image(source)
    assert (await StoragePool.get(id=source.id)).is_upload_target

    move = await stack.wait_for(stack.start_move(source, target)["id"])

    assert move["state"] == "done"
    assert not (await StoragePool.get(id=source.id)).is_upload_target


async def test_a_move_outside_its_window_waits_paused_and_runs_once_it_opens(stack: Stack):
    source, target = await stack.pool("s01"), await stack.pool("s02")
    images = [await stack.image(source, variants=0) for _ in range(3)]

    started = stack.start_move(source, target, throttle={"window": _closed_window()})
    assert (started["state"], started["paused_by_window"]) == ("paused", True)
    assert stack.move(started["id"])["done"] == 0

    opened = stack.throttle(started["id"], images_per_second=100)

    assert opened["throttle"]["images_per_second"] == 100
    move = await stack.wait_for(started["id"])
    assert (move["state"], move["done"]) == ("done", len(images))


async def test_the_throttle_changes_while_a_move_runs_and_the_batches_follow_it(stack: Stack):
    source, target = await stack.pool("s01"), await stack.pool("s02")
    for _ in range(4):
        await stack.image(source, variants=0)
    stack.stop_worker("s01")  # the throttle is changed before any batch runs
    move_id = stack.start_move(source, target, batch_size=2)["id"]

    changed = stack.throttle(move_id, images_per_second=0.5, parallel=2)
    worker = stack.start_worker("s01")

    assert changed["throttle"]["images_per_second"] == 0.5
    assert changed["throttle"]["parallel"] == 2
    move = await stack.wait_for(move_id)
    assert (move["state"], move["done"]) == ("done", 4)
    # Each batch of two images takes at least 4 s: it waits what its work did not take.
    await stack.wait_for_log(worker, 1, "throttled: the batch waits", f" move_id={move_id} ")


async def test_a_throttle_is_refused_with_a_bad_window_or_time_zone(stack: Stack):
    source, target = await stack.pool("s01"), await stack.pool("s02")

    for throttle in ({"window": "1:00-6:00"}, {"window": "01:00-06:00", "timezone": "Mars/Base"}):
        answer = stack.ask_move(source.name, target.name, throttle=throttle)
        assert answer.status_code in (400, 422), answer.text
        assert answer.json()["error"]["code"] == "VALIDATION_ERROR"
    assert not await Move.filter(source_id=source.id).exists()


async def test_a_window_over_midnight_in_a_time_zone():
    berlin = Throttle(window="22:00-06:00", timezone="Europe/Berlin")
    # 21:30 UTC is 22:30 in Berlin in winter; 05:30 UTC is 06:30 there.
    assert berlin.inside(datetime(2026, 12, 7, 21, 30, tzinfo=UTC))
    assert berlin.inside(datetime(2026, 12, 8, 4, 30, tzinfo=UTC))
    assert not berlin.inside(datetime(2026, 12, 8, 5, 30, tzinfo=UTC))
    assert not berlin.inside(datetime(2026, 12, 7, 12, 0, tzinfo=UTC))
    assert Throttle().inside(datetime(2026, 12, 7, 12, 0, tzinfo=UTC))
