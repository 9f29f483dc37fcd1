"""The app's listing a scrub compares the disk with: a pool's images and files, paged."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from pixelfox_app.models import Image, Move, MoveState, StoragePool
from pixelfox_protocol.internal import POOL_FILES_PATH, PoolFilesPage
from tests.backup.conftest import NODE
from tests.scrub.conftest import Pool

pytestmark = pytest.mark.asyncio(loop_scope="package")


async def _page(pool: Pool, pool_id: int, **params: int) -> httpx.Response:
    async with httpx.AsyncClient(base_url=pool.stack.app_url) as client:
        return await client.get(
            POOL_FILES_PATH.format(pool_id=pool_id), params=params, headers=pool.stack.node_headers
        )


async def test_the_listing_pages_through_a_pools_images_with_every_files_size_and_hash(
    scrub_pool: Pool,
) -> None:
    made = [await scrub_pool.ready_image() for _ in range(3)]

    first = PoolFilesPage.model_validate((await _page(scrub_pool, scrub_pool.id, limit=2)).json())
    assert first.next_after is not None
    rest = await _page(scrub_pool, scrub_pool.id, after=first.next_after, limit=2)
    last = PoolFilesPage.model_validate(rest.json())

    assert last.next_after is None and first.total == last.total == 3
    items = first.items + last.items
    assert [i.image_uuid for i in items] == [stored.uuid for stored, _ in made]
    for item, (stored, variants) in zip(items, made, strict=True):
        assert (item.original.path, item.original.sha256) == (stored.path, stored.sha256)
        assert item.original.size == len(stored.data)
        assert [(v.path, v.size, v.sha256) for v in item.variants] == [
            (v.path, v.size, v.sha256) for v in variants
        ]
        assert item.kinds == [f"{v.kind}.{v.format}" for v in variants]
        assert item.state == "ready"
    assert not first.moving_in


async def test_a_deleted_image_is_not_listed_so_no_repair_brings_it_back(scrub_pool: Pool) -> None:
    kept, _ = await scrub_pool.ready_image()
    deleted, _ = await scrub_pool.ready_image()
    await Image.filter(uuid=deleted.uuid).update(deleted_at=datetime.now(UTC), deleted_by="owner")

    page = PoolFilesPage.model_validate((await _page(scrub_pool, scrub_pool.id)).json())

    assert [i.image_uuid for i in page.items] == [kept.uuid] and page.total == 1


async def test_a_pool_with_a_move_coming_in_says_so(scrub_pool: Pool) -> None:
    source = await StoragePool.create(name=f"src-{scrub_pool.name}", node_id=NODE, base_path="/x")
    move = await Move.create(source=source, target_id=scrub_pool.id, state=MoveState.RUNNING)
    try:
        page = PoolFilesPage.model_validate((await _page(scrub_pool, scrub_pool.id)).json())
        assert page.moving_in
    finally:
        await move.delete()
        await source.delete()


async def test_a_node_gets_no_listing_of_another_nodes_pool_or_of_no_pool(scrub_pool: Pool) -> None:
    other = await StoragePool.create(name=f"s02-{scrub_pool.name}", node_id="s02", base_path="/y")
    try:
        refused = await _page(scrub_pool, other.id)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "POOL_NOT_ON_NODE"
        missing = await _page(scrub_pool, 2**31 - 1)
        assert missing.status_code == 404
        bad = await _page(scrub_pool, scrub_pool.id, limit=0)
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "VALIDATION_ERROR"
    finally:
        await other.delete()
    assert not await Image.filter(pool_id=other.id).exists()
