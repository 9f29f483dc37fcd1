"""The switch of a moved image's rows, on SQLite and on PostgreSQL: all or nothing, once.

No services here: the app's ``tickets.switch`` against a real database of each
kind (migrated from empty) and real Redis, as the internal API calls it.

It lives here, not beside the moves' live stack: each test opens the ORM on a
database of its own, which in that package would replace the stack's open
connection and leave its SQLite thread running, so the test process never exits.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from redis.asyncio import Redis

from pixelfox_app.db import close_db, init_db
from pixelfox_app.models import (
    Image,
    ImageState,
    ImageVariant,
    Move,
    MoveState,
    StorageNode,
    StoragePool,
    User,
    Visibility,
)
from pixelfox_app.moves.tickets import switch
from pixelfox_app.nodes import register_node
from pixelfox_protocol import layout
from pixelfox_protocol.errors import APIError
from pixelfox_protocol.internal import MoveSwitch
from pixelfox_protocol.keys import RedisKeys
from tests.conftest import REDIS_URL

ORIGINAL = b"original bytes"
SHA = hashlib.sha256(ORIGINAL).hexdigest()


async def _scene(changing: bool = False) -> tuple[StorageNode, Move, Image]:
    """Node s01's pool with one image and two variants, and a running move to s02's pool."""
    pools = []
    for node_id in ("s01", "s02"):
        if not await StorageNode.exists(node_id=node_id):
            await register_node(node_id, f"{node_id}.pixelfox.test")
        pools.append(
            await StoragePool.create(
                name=f"{node_id}-{secrets.token_hex(3)}", node_id=node_id, base_path="/srv/x"
            )
        )
    image_uuid = str(uuid.uuid4())
    when = datetime.now(UTC)
    owner = await User.create(username=f"u{secrets.token_hex(4)}", password_hash="x")
    image = await Image.create(
        uuid=image_uuid,
        short_id=secrets.token_urlsafe(6),
        owner=owner,
        pool=pools[0],
        path=layout.original_path(image_uuid, "jpg", when),
        size=len(ORIGINAL),
        sha256=SHA,
        mime="image/jpeg",
        width=4,
        height=3,
        state=ImageState.READY,
        visibility=Visibility.PUBLIC,
        visibility_target=Visibility.PRIVATE if changing else None,
    )
    for kind in ("thumb200", "thumb400"):
        await ImageVariant.create(
            image=image,
            pool=pools[0],
            kind=kind,
            format="webp",
            path=layout.variant_path(image_uuid, kind, "webp", when),
            size=10,
            width=2,
            height=1,
        )
    move = await Move.create(source=pools[0], target=pools[1], state=MoveState.RUNNING)
    node = await StorageNode.get(node_id="s01")
    return node, move, image


async def _pools_of(image: Image) -> set[int]:
    rows = await ImageVariant.filter(image_id=image.id).values_list("pool_id", flat=True)
    return {(await Image.get(id=image.id)).pool_id, *rows}  # type: ignore[attr-defined]


def _run(database_url: str, redis_prefix: str, body: Any) -> None:
    async def session() -> None:
        await init_db(database_url)
        redis = Redis.from_url(REDIS_URL)
        try:
            await body(redis, RedisKeys(redis_prefix))
        finally:
            await redis.aclose()
            await close_db()

    asyncio.run(session())


def test_the_image_and_all_its_variants_switch_together_and_only_once(
    database_url: str, redis_prefix: str
) -> None:
    async def body(redis: Redis, keys: RedisKeys) -> None:
        node, move, image = await _scene()
        report = MoveSwitch(original_sha256=SHA, bytes=34)

        first = await switch(node, move.id, image.id, report, redis, keys)
        again = await switch(node, move.id, image.id, report, redis, keys)

        assert (first.switched, first.where) == (True, "target")
        assert (again.switched, again.where) == (False, "target")
        assert await _pools_of(image) == {move.target_id}  # type: ignore[attr-defined]
        counted = await Move.get(id=move.id)
        assert (counted.done, counted.bytes_moved) == (1, 34)

    _run(database_url, redis_prefix, body)


def test_an_image_changing_visibility_or_with_another_hash_stays_on_the_source(
    database_url: str, redis_prefix: str
) -> None:
    async def body(redis: Redis, keys: RedisKeys) -> None:
        for changing in (True, False):
            node, move, image = await _scene(changing=changing)
            report = MoveSwitch(original_sha256=SHA if changing else "0" * 64, bytes=1)
            if changing:
                held = await switch(node, move.id, image.id, report, redis, keys)
                assert (held.switched, held.where) == (False, "source")
            else:
                with pytest.raises(APIError) as refused:
                    await switch(node, move.id, image.id, report, redis, keys)
                assert refused.value.code == "CHECKSUM_MISMATCH"
            assert await _pools_of(image) == {move.source_id}  # type: ignore[attr-defined]
            assert (await Move.get(id=move.id)).done == 0

    _run(database_url, redis_prefix, body)
