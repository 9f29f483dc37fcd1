"""Pools: the seed's runtime defaults for empty fields, operator input checks, the default pool."""

from __future__ import annotations

import pytest

from pixelfox_app import pools
from pixelfox_app.config import AppSettings
from pixelfox_app.models import StorageNode, StoragePool
from pixelfox_app.pools import PoolError

SETTINGS = AppSettings(public_domain="https://img.example.net/")


async def test_a_pool_with_empty_fields_gets_the_phase_1_defaults(db):
    pool = await StoragePool.create(name="default", base_path="/srv/pool")

    assert pools.effective_public_base_url(pool, SETTINGS) == "https://img.example.net"
    assert (
        pools.effective_upload_api_url(pool, SETTINGS)
        == "https://img.example.net/api/internal/upload"
    )
    assert pools.effective_node_id(pool) == "local"
    assert pools.uses_runtime_defaults(pool) == ["public_base_url", "upload_api_url", "node_id"]


async def test_the_defaults_follow_the_public_domain_because_they_are_never_stored(db):
    pool = await StoragePool.create(name="default", base_path="/srv/pool")
    moved = AppSettings(public_domain="https://pics.example.org")

    stored = await StoragePool.get(id=pool.id)

    assert (stored.public_base_url, stored.upload_api_url, stored.node_id) == ("", "", "")
    assert pools.effective_public_base_url(stored, moved) == "https://pics.example.org"


async def test_a_pool_with_its_own_urls_and_node_keeps_them(db):
    pool = await StoragePool.create(
        name="s01-hot",
        base_path="/srv/pool",
        node_id="s01",
        public_base_url="https://s01.example.net/",
        upload_api_url="https://s01.example.net/api/internal/upload",
    )

    assert pools.effective_public_base_url(pool, SETTINGS) == "https://s01.example.net"
    assert (
        pools.effective_upload_api_url(pool, SETTINGS)
        == "https://s01.example.net/api/internal/upload"
    )
    assert pools.effective_node_id(pool) == "s01"
    assert pools.uses_runtime_defaults(pool) == []


async def test_an_empty_upload_url_falls_back_to_the_pools_own_public_base(db):
    pool = await StoragePool.create(
        name="s02", base_path="/srv/p", node_id="s02", public_base_url="https://s02.example.net"
    )

    assert (
        pools.effective_upload_api_url(pool, SETTINGS)
        == "https://s02.example.net/api/internal/upload"
    )


async def test_ensure_default_pool_creates_it_once_and_keeps_its_base_path(db):
    first = await pools.ensure_default_pool("/var/pixelfox/pool")
    again = await pools.ensure_default_pool("/elsewhere")

    assert first.created and not again.created
    assert again.pool.id == first.pool.id
    assert again.pool.base_path == "/var/pixelfox/pool"
    assert (again.pool.name, again.pool.node_id) == ("local", "local")
    assert await StoragePool.all().count() == 1


async def test_ensure_default_pool_writes_given_urls_and_leaves_others_to_the_defaults(db):
    await pools.ensure_default_pool("/var/pool")
    result = await pools.ensure_default_pool(
        "/var/pool", upload_api_url="http://127.0.0.1:9001/api/internal/upload"
    )

    stored = await StoragePool.get(id=result.pool.id)
    assert stored.upload_api_url == "http://127.0.0.1:9001/api/internal/upload"
    assert stored.public_base_url == ""


async def test_create_pool_stores_checked_fields(db):
    await StorageNode.create(node_id="s01", credential_hash="0" * 64)

    pool = await pools.create_pool(
        name="s01-hot",
        base_path="/srv/pool/",
        node_id="s01",
        tier="hot",
        weight=3,
        public_base_url="https://s01.example.net/",
    )

    stored = await StoragePool.get(id=pool.id)
    assert (stored.base_path, stored.node_id, stored.weight, stored.public_base_url) == (
        "/srv/pool",
        "s01",
        3,
        "https://s01.example.net",
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"base_path": "relative/dir"}, "base_path must be an absolute path"),
        ({"base_path": "/srv/../etc"}, "must not contain '..'"),
        ({"public_base_url": "ftp://s01.example.net"}, "public_base_url must be an http(s) URL"),
        ({"upload_api_url": "https://"}, "upload_api_url must be an http(s) URL"),
        ({"cdn_base_url": "https://cdn.example.net/?x=1"}, "must not have a query"),
        ({"weight": -1}, "weight must not be negative"),
        ({"reserve_bytes": -5}, "reserve_bytes must not be negative"),
        ({"tier": "lukewarm"}, "tier must be one of hot, warm, cold"),
        ({"region": "EU Central"}, "a region is lowercase"),
        ({"name": "../x"}, "a pool name is"),
        ({"node_id": "s09"}, "unknown node 's09'"),
    ],
)
async def test_create_pool_refuses_bad_input_with_one_line_and_stores_nothing(db, fields, message):
    values = {"name": "p1", "base_path": "/srv/p1", **fields}

    with pytest.raises(PoolError) as refused:
        await pools.create_pool(**values)

    assert message in str(refused.value)
    assert "\n" not in str(refused.value)
    assert await StoragePool.all().count() == 0


async def test_a_pool_name_is_taken_once(db):
    await pools.create_pool(name="p1", base_path="/srv/p1")

    with pytest.raises(PoolError, match="pool 'p1' already exists"):
        await pools.create_pool(name="p1", base_path="/srv/other")


async def test_edit_pool_changes_only_the_given_fields_and_can_rename(db):
    await pools.create_pool(name="p1", base_path="/srv/p1", weight=7)

    edited = await pools.edit_pool("p1", name="p-one", is_upload_target=False)

    stored = await StoragePool.get(id=edited.id)
    assert (stored.name, stored.is_upload_target, stored.weight) == ("p-one", False, 7)


async def test_edit_pool_refuses_an_unknown_pool_and_a_taken_name(db):
    await pools.create_pool(name="p1", base_path="/srv/p1")
    await pools.create_pool(name="p2", base_path="/srv/p2")

    with pytest.raises(PoolError, match="no pool named 'nope'"):
        await pools.edit_pool("nope", weight=1)
    with pytest.raises(PoolError, match="pool 'p2' already exists"):
        await pools.edit_pool("p1", name="p2")


async def test_the_model_itself_refuses_a_negative_weight(db):
    from tortoise.exceptions import ValidationError

    with pytest.raises(ValidationError):
        await StoragePool.create(name="p", base_path="/srv/p", weight=-1)
