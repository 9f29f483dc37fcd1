"""Invariants the migrated schema itself enforces, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from tortoise.exceptions import IntegrityError

from pixelfox_app.db import close_db, init_db
from pixelfox_app.models import (
    Image,
    ImageVariant,
    Move,
    MoveItem,
    MoveItemState,
    StoragePool,
    User,
)


@pytest.fixture
async def orm(database_url: str) -> AsyncIterator[str]:
    await init_db(database_url)
    yield database_url
    await close_db()


async def _image(owner: User, pool: StoragePool, path: str) -> Image:
    return await Image.create(
        uuid=uuid.uuid4(),
        short_id=uuid.uuid4().hex[:10],
        owner=owner,
        pool=pool,
        path=path,
        size=1,
        sha256="0" * 64,
        mime="image/png",
    )


async def test_two_images_cannot_own_the_same_file_of_a_pool(orm):
    owner = await User.create(username="ada", password_hash="x")
    pool = await StoragePool.create(name="p", base_path="/srv/p")
    other = await StoragePool.create(name="q", base_path="/srv/q")
    await _image(owner, pool, "original/2025/01/01/a.png")

    with pytest.raises(IntegrityError):
        await _image(owner, pool, "original/2025/01/01/a.png")
    # The same relative path on another pool is another file.
    await _image(owner, other, "original/2025/01/01/a.png")


async def test_an_image_has_one_variant_per_kind_and_format(orm):
    owner = await User.create(username="ada", password_hash="x")
    pool = await StoragePool.create(name="p", base_path="/srv/p")
    image = await _image(owner, pool, "original/a.png")
    fields = {"image": image, "pool": pool, "size": 1, "width": 1, "height": 1}
    await ImageVariant.create(kind="thumb", format="webp", path="variants/a_thumb.webp", **fields)

    with pytest.raises(IntegrityError):
        await ImageVariant.create(kind="thumb", format="webp", path="variants/b.webp", **fields)


async def test_a_move_keeps_one_error_entry_per_image(orm):
    owner = await User.create(username="ada", password_hash="x")
    source = await StoragePool.create(name="p", base_path="/srv/p")
    target = await StoragePool.create(name="q", base_path="/srv/q")
    image = await _image(owner, source, "original/a.png")
    move = await Move.create(source=source, target=target)
    await MoveItem.create(move=move, image=image, state=MoveItemState.FAILED)

    with pytest.raises(IntegrityError):
        await MoveItem.create(move=move, image=image, state=MoveItemState.FAILED)


async def test_a_pool_holding_images_cannot_be_deleted(orm):
    owner = await User.create(username="ada", password_hash="x")
    pool = await StoragePool.create(name="p", base_path="/srv/p")
    await _image(owner, pool, "original/a.png")

    with pytest.raises(IntegrityError):
        await pool.delete()
