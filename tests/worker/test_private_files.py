"""Files of private images on a real pool directory: variants under private/, moves between
the subtrees, and a job queued before a move that still finds its original."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from pixelfox_protocol import layout, links
from pixelfox_protocol.keys import RedisKeys
from pixelfox_storage.node_jobs.imagelock import ImageBusy, image_lock
from pixelfox_storage.node_worker.files import move_to_subtree, original_date
from pixelfox_storage.node_worker.variants import make_variants
from pixelfox_storage.processing import ImageLimits, parse_variants
from tests.conftest import REDIS_URL
from tests.worker import images
from tests.worker.conftest import NODE

SPECS = parse_variants("")
DAY = "2026/03/07"


def stored_private_original(pool: Path) -> tuple[str, str]:
    image_uuid = str(uuid.uuid4())
    rel = f"private/original/{DAY}/{image_uuid}.jpg"
    (pool / rel).parent.mkdir(parents=True, exist_ok=True)
    images.photo(pool / rel, 800, 600)
    return image_uuid, rel


def test_a_private_originals_variants_are_written_under_private_variants(tmp_path: Path) -> None:
    image_uuid, rel = stored_private_original(tmp_path)

    report = make_variants(tmp_path, image_uuid, rel, SPECS, ImageLimits())

    assert report.state == "ready", report.error
    assert report.variants
    for variant in report.variants:
        assert variant.path.startswith(f"private/variants/{DAY}/{image_uuid}_")
        assert (tmp_path / variant.path).stat().st_size == variant.size
    assert not (tmp_path / "variants").exists()


def test_the_upload_date_is_read_from_private_and_public_originals() -> None:
    assert original_date(f"private/original/{DAY}/x.jpg") == original_date(f"original/{DAY}/x.jpg")
    with pytest.raises(ValueError):
        original_date(f"private/variants/{DAY}/x.jpg")


def test_moving_into_private_and_back_renames_every_file_and_is_idempotent(
    tmp_path: Path,
) -> None:
    image_uuid, private_rel = stored_private_original(tmp_path)
    make_variants(tmp_path, image_uuid, private_rel, SPECS, ImageLimits())
    before = {p.name: p.read_bytes() for p in (tmp_path / "private").rglob("*") if p.is_file()}
    # Another image's variant in the same folder stays where it is.
    neighbour = tmp_path / f"private/variants/{DAY}/{uuid.uuid4()}_thumb200.jpg"
    neighbour.write_bytes(b"not mine")

    public = move_to_subtree(tmp_path, image_uuid, private_rel, private=False)

    assert public.original == layout.in_subtree(private_rel, private=False)
    assert len(public.variants) == len(before) - 1
    assert all(not layout.is_private(v) for v in public.variants)
    after = {p.name: p.read_bytes() for p in tmp_path.glob("*/*/*/*/*") if p.is_file()}
    assert after == before  # same files, same bytes, now public
    assert sorted(p.name for p in (tmp_path / "private").rglob("*") if p.is_file()) == [
        neighbour.name
    ]
    # A second run (a retried job) finds everything in place and reports the same.
    assert move_to_subtree(tmp_path, image_uuid, private_rel, private=False) == public
    back = move_to_subtree(tmp_path, image_uuid, public.original, private=True)
    assert back.original == private_rel
    assert sorted(back.variants) == sorted(f"private/{v}" for v in public.variants)


def test_a_move_without_its_original_fails_and_moves_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        move_to_subtree(tmp_path, "gone", f"original/{DAY}/gone.jpg", private=True)
    assert not (tmp_path / "private").exists()


def test_a_job_queued_before_the_move_makes_variants_where_the_original_is_now(
    tmp_path: Path,
) -> None:
    image_uuid, private_rel = stored_private_original(tmp_path)
    public_rel = layout.in_subtree(private_rel, private=False)
    assert links.file_now(tmp_path, public_rel) == private_rel

    # Queued with the public path (before the image went private).
    report = make_variants(tmp_path, image_uuid, public_rel, SPECS, ImageLimits())

    assert report.state == "ready", report.error
    assert all(v.path.startswith("private/variants/") for v in report.variants)


async def test_the_image_lock_lets_one_job_at_a_time_and_a_rerun_of_a_killed_job_take_it_back(
    redis_prefix: str,
) -> None:
    redis = aioredis.Redis.from_url(REDIS_URL)
    keys = RedisKeys(redis_prefix)
    image_uuid = str(uuid.uuid4())
    try:
        # A processing job is killed while it holds the lock: its key stays behind.
        await redis.set(keys.image_lock(NODE, image_uuid), "process:x")
        with pytest.raises(ImageBusy):
            async with image_lock(redis, keys, NODE, image_uuid, "visibility:x:private"):
                pass
        async with image_lock(redis, keys, NODE, image_uuid, "process:x"):  # the same job again
            assert await redis.get(keys.image_lock(NODE, image_uuid)) == b"process:x"
        assert await redis.get(keys.image_lock(NODE, image_uuid)) is None
        async with image_lock(redis, keys, NODE, image_uuid, "visibility:x:private"):
            pass
    finally:
        await redis.aclose()
