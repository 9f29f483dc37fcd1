"""Moving a pool's images to another pool, on a live app, two nodes and their workers."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from pixelfox_app.models import Image, ImageVariant, MoveItem
from tests.moves.conftest import Stack, Stored, sha256
from tests.support import eventually

pytestmark = pytest.mark.asyncio(loop_scope="package")


def _readable(stack: Stack, stored: Stored) -> None:
    """Every URL the app hands out for the image answers with the image's bytes."""
    urls = stack.urls(stored)
    assert len(urls) == len(stored.files)
    got = sorted(sha256(httpx.get(url).content) for url in urls)
    assert got == sorted(sha256(data) for data in stored.files.values())


async def _on_pool(stored: Stored, pool_id: int) -> bool:
    image = await Image.get(id=stored.id)
    variant_pools = await ImageVariant.filter(image_id=stored.id).values_list("pool_id", flat=True)
    return image.pool_id == pool_id and set(variant_pools) <= {pool_id}  # type: ignore[attr-defined]


def _files_at(base: str, stored: Stored) -> dict[str, str]:
    return {
        rel: sha256((Path(base) / rel).read_bytes())
        for rel in stored.files
        if (Path(base) / rel).is_file()
    }


async def _gone_from(base: str, stored: Stored) -> None:
    """Until none of the image's files is left at ``base``.

    The node deletes a move's sources only after the app switched the rows, so
    the move reads ``done`` a moment before the last image's sources are gone.
    """

    async def gone() -> bool:
        return not _files_at(base, stored)

    assert await eventually(gone, seconds=20), f"still at the source: {_files_at(base, stored)}"


async def test_a_move_to_another_node_copies_verifies_switches_then_deletes(stack: Stack):
    source, target = await stack.pool("s01"), await stack.pool("s02")
    images = [await stack.image(source), await stack.image(source, private=True)]
    for stored in images:
        _readable(stack, stored)

    started = stack.start_move(source, target, batch_size=1)
    move = await stack.wait_for(started["id"])

    assert move["state"] == "done", move
    assert (move["planned"], move["done"], move["failed"], move["skipped"]) == (2, 2, 0, 0)
    assert move["bytes_moved"] == sum(len(d) for s in images for d in s.files.values())
    assert move["images_left"] == 0 and move["eta_seconds"] is None
    assert move["images_per_second"] > 0 and move["bytes_per_second"] > 0
    for stored in images:
        assert await _on_pool(stored, target.id)
        # Same paths (the private/ prefix kept), same bytes, nothing left at the source.
        assert _files_at(target.base_path, stored) == {
            rel: sha256(data) for rel, data in stored.files.items()
        }
        await _gone_from(source.base_path, stored)
        assert all(url.startswith(stack.nodes["s02"].url) for url in stack.urls(stored))
        _readable(stack, stored)
    assert any(rel.startswith("private/") for rel in images[1].files)


async def test_a_move_within_one_node_is_a_local_copy(stack: Stack):
    source, target = await stack.pool("s01"), await stack.pool("s01")
    stored = await stack.image(source, variants=3)

    move = await stack.wait_for(stack.start_move(source, target)["id"])

    assert (move["state"], move["done"]) == ("done", 1)
    assert await _on_pool(stored, target.id)
    assert _files_at(target.base_path, stored) == {
        rel: sha256(data) for rel, data in stored.files.items()
    }
    await _gone_from(source.base_path, stored)
    _readable(stack, stored)


async def test_a_missing_source_original_is_quarantined_and_listed_never_skipped(stack: Stack):
    source, target = await stack.pool("s01"), await stack.pool("s02")
    kept, lost = await stack.image(source), await stack.image(source)
    (Path(source.base_path) / lost.path).unlink()

    move = await stack.wait_for(stack.start_move(source, target)["id"])

    # The image is still on the source: the move does not end "done" (a drain must not
    # retire the pool), and the image is listed with the reason.
    assert (move["state"], move["done"], move["skipped"], move["quarantined"]) == (
        "failed",
        1,
        0,
        1,
    )
    assert [(i["image_id"], i["state"]) for i in move["items"]] == [(lost.id, "quarantined")]
    assert "missing" in move["items"][0]["error"]
    assert await _on_pool(kept, target.id)
    assert await _on_pool(lost, source.id)  # its rows stay where they were
    assert await MoveItem.filter(move_id=move["id"]).count() == 1


async def test_a_damaged_original_is_quarantined_and_retry_moves_it_once_healed(stack: Stack):
    source, target = await stack.pool("s01"), await stack.pool("s01")
    stored = await stack.image(source, variants=1)
    original = Path(source.base_path) / stored.path
    original.write_bytes(b"not the uploaded bytes")

    move_id = stack.start_move(source, target)["id"]
    move = await stack.wait_for(move_id)

    assert (move["state"], move["quarantined"], move["done"]) == ("failed", 1, 0)
    assert move["items"][0]["state"] == "quarantined"
    assert "expected" in move["items"][0]["error"]
    assert _files_at(target.base_path, stored) == {}  # nothing copied
    assert await _on_pool(stored, source.id)

    original.write_bytes(stored.files[stored.path])  # healed (scrub --repair, a backup)
    retried = stack.act(move_id, "retry")
    assert retried["state"] == "running"
    move = await stack.wait_for(move_id)

    assert (move["state"], move["done"], move["quarantined"], move["failed"]) == ("done", 1, 0, 0)
    assert move["items"] == []
    assert await _on_pool(stored, target.id)
    assert _files_at(target.base_path, stored) == {
        rel: sha256(data) for rel, data in stored.files.items()
    }


async def test_pause_stops_progress_and_resume_finishes(stack: Stack):
    source, target = await stack.pool("s01"), await stack.pool("s02")
    images = [await stack.image(source, variants=0) for _ in range(12)]
    # Every image's job is queued before the pause, and none runs before it.
    stack.stop_worker("s01")
    move_id = stack.start_move(source, target, batch_size=3)["id"]
    await stack.wait_for(move_id, planned_at_least=len(images))

    paused = stack.act(move_id, "pause")
    stack.start_worker("s01")
    # Each job comes up, finds the move paused and parks its image for the resume.
    parked = stack.keys.node_move_parked("s01", move_id)
    deadline = asyncio.get_running_loop().time() + 60
    while await stack.arq.scard(parked) < len(images):  # type: ignore[misc]
        assert asyncio.get_running_loop().time() < deadline, stack.logs()
        await asyncio.sleep(0.1)
    after = stack.move(move_id)

    assert paused["state"] == after["state"] == "paused"
    assert after["done"] == 0
    resumed = stack.act(move_id, "resume")
    assert resumed["state"] == "running"
    move = await stack.wait_for(move_id)
    assert (move["state"], move["planned"], move["done"]) == ("done", 12, 12)
    for stored in images:
        assert await _on_pool(stored, target.id)


async def test_cancel_stops_the_move_and_leaves_the_rest_readable_on_the_source(stack: Stack):
    source, target = await stack.pool("s01"), await stack.pool("s02")
    images = [await stack.image(source, variants=0) for _ in range(12)]

    stack.stop_worker("s01")  # as for pause: every job queued, none run before the cancel
    move_id = stack.start_move(source, target, batch_size=2)["id"]
    await stack.wait_for(move_id, planned_at_least=len(images))

    cancelled = stack.act(move_id, "cancel")
    worker = stack.start_worker("s01")
    # Each job comes up, finds the move cancelled and ends.
    await stack.wait_for_log(
        worker, len(images), "move is cancelled; image not moved now", f" move_id={move_id} "
    )
    after = stack.move(move_id)

    assert cancelled["state"] == after["state"] == "cancelled"
    assert after["done"] == 0
    for stored in images:
        _readable(stack, stored)


async def test_a_move_is_refused_to_the_same_pool_or_to_an_unknown_one(stack: Stack):
    pool = await stack.pool("s01")
    for target, code in ((pool.name, "MOVE_SAME_POOL"), ("no-such-pool", "NOT_FOUND")):
        answer = stack.ask_move(pool.name, target)
        assert answer.json()["error"]["code"] == code
        assert answer.status_code in (404, 422)


async def test_a_move_needs_an_admin(stack: Stack):
    answer = stack.get("/api/v1/admin/moves")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "AUTH_REQUIRED"


async def test_killing_the_source_worker_mid_move_loses_nothing_and_counts_nothing_twice(
    stack: Stack,
):
    source, target = await stack.pool("s01"), await stack.pool("s02")
    images = [await stack.image(source, variants=1) for _ in range(60)]

    move_id = stack.start_move(source, target, batch_size=5)["id"]
    await stack.wait_for(move_id, done_at_least=3)  # under way
    worker = stack.nodes["s01"].worker
    assert worker is not None
    worker.kill()
    assert stack.move(move_id)["done"] < len(images), "the kill came too late to prove much"
    stack.start_worker("s01")

    move = await stack.wait_for(move_id)
    assert move["state"] == "done", move
    assert (move["planned"], move["done"], move["failed"], move["skipped"]) == (60, 60, 0, 0)
    for stored in images:
        assert await _on_pool(stored, target.id)
        assert _files_at(target.base_path, stored) == {
            rel: sha256(data) for rel, data in stored.files.items()
        }
        await _gone_from(source.base_path, stored)
