"""A copy's life after it is made: a lowered factor removes the surplus, repair is throttled
per node, and a drain places its replicas anew before it ends.

The copy check runs here in the test process (``check_copies``, as the control
worker's cron does every minute) so a test need not wait for the minute; the
control worker's own runs may come in between, and change nothing a test looks at.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from pixelfox_app.copies.repair import check_copies
from pixelfox_app.copies.replicas import record_primary, replicas_on
from pixelfox_app.copies.throttle import in_flight
from pixelfox_app.models import CopyState, Image, ImageCopy, StorageNode, StoragePool
from tests.copies.conftest import (
    DEFAULT_REPAIRS,
    damaged_upload,
    repair_jobs_per_node,
    report_processed,
    wait_for_copies,
)
from tests.moves.conftest import Stack, Stored, sha256

pytestmark = pytest.mark.asyncio(loop_scope="package")


async def _check(stack: Stack) -> dict[str, int]:
    return await check_copies({"redis": stack.arq, "keys": stack.keys})


async def _factor(pool: StoragePool, factor: int) -> None:
    await StoragePool.filter(id=pool.id).update(replication_factor=factor)


async def _copies(stored: Stored) -> list[ImageCopy]:
    return list(await ImageCopy.filter(image_id=stored.id).select_related("pool").order_by("id"))


async def _until_rows(
    stack: Stack, stored: Stored, count: int, within: float = 30
) -> list[ImageCopy]:
    """Until the image has exactly ``count`` copy rows, every one verified."""
    deadline = time.monotonic() + within
    while True:
        copies = await _copies(stored)
        if len(copies) == count and all(c.state == CopyState.VERIFIED for c in copies):
            return copies
        if time.monotonic() > deadline:
            states = [(c.pool.name, str(c.state)) for c in copies]
            raise AssertionError(f"copies of {stored.uuid}: {states}\n{stack.logs()}")
        await asyncio.sleep(0.1)


def _held(pool: StoragePool, stored: Stored) -> dict[str, str]:
    """The image's files on the pool, by path, as their SHA-256."""
    base = Path(pool.base_path)
    return {
        rel: sha256((base / rel).read_bytes()) for rel in stored.files if (base / rel).is_file()
    }


def _whole(stored: Stored) -> dict[str, str]:
    return {rel: sha256(data) for rel, data in stored.files.items()}


async def _three_copies(stack: Stack) -> tuple[StoragePool, Stored, list[ImageCopy]]:
    """An image on s01 with its pool's factor 3: copies on s01, s03 (zone b) and s02."""
    source = await stack.pool("s01")
    await stack.pool("s02")
    await stack.pool("s03")
    await _factor(source, 3)
    stored = await stack.image(source, variants=2)
    await report_processed(stack, stored)
    copies = await wait_for_copies(stack, stored, 3)
    assert sorted(c.pool.node_id for c in copies) == ["s01", "s02", "s03"]
    return source, stored, copies


async def test_lowering_the_factor_from_3_to_2_removes_one_copy_and_never_the_primary(
    stack: Stack,
):
    source, stored, copies = await _three_copies(stack)
    on_s02 = next(c for c in copies if c.pool.node_id == "s02")
    await _factor(source, 2)

    await _check(stack)  # (or the control worker's own check, if it came first)

    left = await _until_rows(stack, stored, 2)
    # s02 shares zone a with the primary: its copy goes, zone b's stays.
    assert sorted(c.pool.node_id for c in left) == ["s01", "s03"]
    assert any(c.pool.id == source.id for c in left)
    for copy in left:
        assert _held(copy.pool, stored) == _whole(stored)
    deadline = time.monotonic() + 10
    while _held(on_s02.pool, stored):
        assert time.monotonic() < deadline, f"s02 still holds {sorted(_held(on_s02.pool, stored))}"
        await asyncio.sleep(0.1)
    async with httpx.AsyncClient() as client:
        for url in stack.urls(stored):
            assert (await client.get(url)).status_code == 200


async def test_lowering_the_factor_from_2_to_1_removes_the_replica(stack: Stack):
    source = await stack.pool("s01")
    stored = await stack.image(source, variants=2)
    await report_processed(stack, stored)
    copies = await wait_for_copies(stack, stored, 2)
    replica = next(c for c in copies if c.pool.id != source.id)
    await _factor(source, 1)

    await _check(stack)

    left = await _until_rows(stack, stored, 1)
    assert left[0].pool.id == source.id
    assert _held(source, stored) == _whole(stored)
    deadline = time.monotonic() + 10
    while _held(replica.pool, stored):
        assert time.monotonic() < deadline, "the replica's files are still there"
        await asyncio.sleep(0.1)
    assert await _check(stack) is not None
    assert len(await _copies(stored)) == 1  # a factor of 1 asks for nothing more


async def test_a_pool_on_the_default_factor_loses_no_copy_when_the_default_drops(stack: Stack):
    source = await stack.pool("s01")
    stored = await stack.image(source, variants=1)
    await report_processed(stack, stored)
    await wait_for_copies(stack, stored, 2)
    # Two of three nodes switched off: the default is one copy now.
    await StorageNode.filter(node_id__in=["s02", "s03"]).update(is_active=False)
    try:
        await _check(stack)
        await asyncio.sleep(1)

        copies = await _copies(stored)
    finally:
        await StorageNode.filter(node_id__in=["s02", "s03"]).update(is_active=True)
    assert [str(c.state) for c in copies] == ["verified", "verified"]


async def test_a_pending_copy_blocks_the_removal_until_it_is_verified(stack: Stack):
    source = await stack.pool("s01")
    await stack.pool("s02")
    stored = await stack.image(source, variants=2)
    await report_processed(stack, stored)
    first = await wait_for_copies(stack, stored, 2)
    on_s03 = next(c for c in first if c.pool.node_id == "s03")
    stack.stop_worker("s01")  # the third copy's push waits on s01's lane
    try:
        await _factor(source, 3)
        await _check(stack)
        copies = await _copies(stored)
        assert [str(c.state) for c in copies] == ["verified", "verified", "pending"]
        await _factor(source, 2)

        result = await _check(stack)

        copies = await _copies(stored)
        assert [str(c.state) for c in copies] == ["verified", "verified", "pending"], result
        assert _held(on_s03.pool, stored) == _whole(stored)
    finally:
        stack.start_worker("s01")
    # Pushed and verified: now one surplus copy goes (the zone-a one), two stay.
    left = await _until_rows(stack, stored, 2)
    assert sorted(c.pool.node_id for c in left) == ["s01", "s03"]


async def _short_images(stack: Stack, pool: StoragePool, count: int) -> list[Stored]:
    """Images whose only copy is their primary (processed before a second node, say)."""
    made = []
    for _ in range(count):
        stored = await stack.image(pool, variants=1)
        await record_primary(await Image.get(id=stored.id))
        made.append(stored)
    return made


async def test_repair_queues_at_most_the_knobs_pushes_per_node_and_more_as_they_end(
    stack: Stack,
):
    source = await stack.pool("s02")
    await stack.pool("s03")
    await repair_jobs_per_node(2)
    images = await _short_images(stack, source, 5)
    ids = [s.id for s in images]
    stack.stop_worker("s02")  # the pushes stay queued on s02's lane
    try:
        await _check(stack)
        pending = await ImageCopy.filter(image_id__in=ids, state=CopyState.PENDING)
        assert len(pending) == 2
        assert await in_flight(stack.arq, stack.keys, "s02") == 2
        # Newest uploads first.
        assert {c.image_id for c in pending} == set(ids[-2:])  # type: ignore[attr-defined]

        await _check(stack)  # nothing ended: nothing more

        assert await ImageCopy.filter(image_id__in=ids, state=CopyState.PENDING).count() == 2
    finally:
        stack.start_worker("s02")
    # Each push that ends frees its slot and brings a copy check a moment later.
    try:
        for stored in images:
            await wait_for_copies(stack, stored, 2, within=60)
    finally:
        await repair_jobs_per_node(DEFAULT_REPAIRS)
    assert await in_flight(stack.arq, stack.keys, "s02") == 0


async def test_a_fresh_uploads_replica_is_queued_whatever_the_repair_backlog(stack: Stack):
    source = await stack.pool("s02")
    await repair_jobs_per_node(1)
    try:
        await _short_images(stack, source, 3)
        stack.stop_worker("s02")
        try:
            await _check(stack)
            assert await in_flight(stack.arq, stack.keys, "s02") == 1
            fresh = await stack.image(source, variants=1)

            answer = await report_processed(stack, fresh, "s02")

            assert answer.status_code == 200
            copies = await _copies(fresh)
            assert [str(c.state) for c in copies] == ["verified", "pending"]
            assert await in_flight(stack.arq, stack.keys, "s02") == 1  # not a repair push
        finally:
            stack.start_worker("s02")
        await wait_for_copies(stack, fresh, 2)
    finally:
        await repair_jobs_per_node(DEFAULT_REPAIRS)


def _spare_other_than(stack: Stack, node_id: str, pool: StoragePool) -> StoragePool:
    spare = [p for p in stack.spare[node_id] if p.id != pool.id]
    chosen = spare[0]
    stack.spare[node_id].remove(chosen)
    return chosen


async def test_a_drain_places_its_replicas_anew_and_removes_them_once_verified(stack: Stack):
    source = await stack.pool("s01")
    stored = await stack.image(source, variants=2)
    await report_processed(stack, stored)
    first = await wait_for_copies(stack, stored, 2)
    drained = next(c.pool for c in first if c.pool.id != source.id)
    assert drained.node_id == "s03"
    target = _spare_other_than(stack, "s03", drained)
    await stack.wait_for_pool(target)
    stack.stop_worker("s01")  # the new copy's push (from the primary) waits
    try:
        move = stack.start_move(drained, target)
        deadline = time.monotonic() + 20
        while not any(c.state == CopyState.PENDING for c in await _copies(stored)):
            assert time.monotonic() < deadline, await _copies(stored)
            await asyncio.sleep(0.1)
        await asyncio.sleep(1)

        # Until the new copy is verified the drained one stays, whole, and the move runs.
        shown = stack.move(move["id"])
        assert shown["state"] == "running" and shown["replicas_left"] >= 1, shown
        copies = await _copies(stored)
        by_pool = {c.pool.id: c for c in copies}
        assert by_pool[drained.id].state == CopyState.VERIFIED
        assert _held(drained, stored) == _whole(stored)
        new = next(c for c in copies if c.state == CopyState.PENDING)
        assert new.pool.id != drained.id
        assert new.pool.node_id == "s03"  # zone b still holds a copy
    finally:
        stack.start_worker("s01")

    ended = await stack.wait_for(move["id"])

    assert ended["state"] == "done", ended
    assert not await replicas_on(drained.id).exists()
    left = await _until_rows(stack, stored, 2)
    assert drained.id not in {c.pool.id for c in left}
    assert new.pool.id in {c.pool.id for c in left}
    assert _held(new.pool, stored) == _whole(stored)
    assert _held(drained, stored) == {}


async def test_a_drain_does_not_wait_for_a_replica_that_never_got_its_files(stack: Stack):
    stored = await damaged_upload(stack)  # its replica stays pending: s01 refuses to push it
    image = await Image.get(id=stored.id)
    pending = await ImageCopy.get(image_id=stored.id, state=CopyState.PENDING).select_related(
        "pool"
    )
    drained = pending.pool
    target = _spare_other_than(stack, drained.node_id, drained)
    await stack.wait_for_pool(target)

    move = stack.start_move(drained, target)
    ended = await stack.wait_for(move["id"])

    assert ended["state"] == "done", ended
    copies = await _copies(stored)
    assert drained.id not in {c.pool.id for c in copies}
    assert any(c.pool.id == image.pool_id for c in copies)  # type: ignore[attr-defined]
    assert _held(drained, stored) == {}
