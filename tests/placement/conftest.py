"""Placement against real Redis (a prefix of its own) and a migrated SQLite, in the test's loop.

``fleet`` registers nodes and pools and makes nodes beat the way the app's
heartbeat receiver records them (``store_beat``), so each test states the
health facts it needs and asks :func:`pixelfox_app.placement.place`.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest_asyncio
import redis.asyncio as aioredis

from pixelfox_app import knobs
from pixelfox_app.models import StorageNode, StoragePool
from pixelfox_app.placement import Placement, PlacementRequest, place
from pixelfox_app.placement.health import store_beat
from pixelfox_protocol.internal import Heartbeat, PoolHeartbeat
from pixelfox_protocol.keys import REACHABILITY_TTL, RedisKeys

# The real control app of tests/app (one per module), for the tests that need one.
from tests.app.conftest import app_server, app_with, servers  # noqa: F401

TB = 1 << 40
MB = 1 << 20


@dataclass
class Fleet:
    redis: aioredis.Redis
    keys: RedisKeys

    async def node(self, node_id: str, **fields: Any) -> StorageNode:
        return await StorageNode.create(
            node_id=node_id, dns_name=f"{node_id}.pixelfox.test", credential_hash="0" * 64, **fields
        )

    async def pool(self, name: str, node_id: str, **fields: Any) -> StoragePool:
        values: dict[str, Any] = {
            "base_path": f"/srv/pixelfox/{name}",
            "upload_api_url": f"http://{node_id}.pixelfox.test/api/internal/upload",
            "reserve_bytes": 10 * MB,
        }
        values.update(fields)
        return await StoragePool.create(name=name, node_id=node_id, **values)

    async def beat(
        self,
        node_id: str,
        *,
        used: dict[int, int] | None = None,
        free: int = TB,
        capacity: int = TB,
        skip: tuple[int, ...] = (),
        at: float | None = None,
    ) -> str:
        """A beat of ``node_id`` reporting its pools (but ``skip``); returns the health state."""
        pools = [p for p in await StoragePool.filter(node_id=node_id).order_by("id")]
        used = used or {}
        beat = Heartbeat(
            node_id=node_id,
            version="test",
            pools=[
                PoolHeartbeat(
                    pool_id=p.id,
                    free_bytes=free,
                    used_bytes=used.get(p.id, 0),
                    capacity_bytes=capacity,
                    used_pct=100.0 * used.get(p.id, 0) / capacity,
                )
                for p in pools
                if p.id not in skip
            ],
        )
        return await store_beat(self.redis, self.keys, beat, [p.id for p in pools], now=at)

    async def reachable(self, pool: StoragePool, ok: bool, error: str = "") -> None:
        """What the control worker's check stores for ``pool``."""
        body = {"ok": ok, "url": pool.upload_api_url, "status": 204 if ok else None, "error": error}
        await self.redis.set(
            self.keys.pool_reachable(pool.id), json.dumps(body), ex=REACHABILITY_TTL
        )

    async def place(
        self,
        size: int = MB,
        *,
        avoid: tuple[str, ...] = (),
        region: str | None = None,
        local_only: bool = False,
        strategy: str | None = None,
        seed: int | None = None,
    ) -> Placement:
        request = PlacementRequest(
            size,
            frozenset(avoid),
            region=region,
            region_source="query" if region else None,
            local_only=local_only,
        )
        rng = random.Random(seed) if seed is not None else None
        return await place(request, self.redis, self.keys, strategy=strategy, rng=rng)

    async def strategy(self, name: str) -> None:
        await knobs.put("placement_strategy", name, by="tests")

    async def health(self, node_id: str) -> dict[str, str]:
        raw = await self.redis.hgetall(self.keys.node_health(node_id))  # type: ignore[misc]
        return {k.decode(): v.decode() for k, v in raw.items()}


def ago(seconds: float) -> float:
    return time.time() - seconds


@pytest_asyncio.fixture
async def fleet(db: str, redis_url: str, redis_prefix: str) -> AsyncIterator[Fleet]:
    client = aioredis.Redis.from_url(redis_url)
    try:
        yield Fleet(client, RedisKeys(redis_prefix))
    finally:
        await client.aclose()
