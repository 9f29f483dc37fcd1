"""A small rolling health history per pool, sampled from the heartbeats.

Heartbeats keep only the latest state, so the app records one sample per pool
every ``SAMPLE_SECONDS`` into a capped Redis list. With several app workers
only the one that takes the slot's key records, so a slot has one sample.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass

import structlog
from quart import Quart
from redis.asyncio import Redis

from pixelfox_protocol.keys import HEALTH_HISTORY_LENGTH, HEALTH_HISTORY_TTL, RedisKeys

from ...models import StoragePool
from ...pool_health import pools_health

SAMPLE_SECONDS = 15
log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Sample:
    at: float
    state: str
    used_pct: float | None


async def record_sample(redis: Redis, keys: RedisKeys, now: float | None = None) -> bool:
    """Record one sample of every pool unless another worker took this slot already."""
    now = time.time() if now is None else now
    slot = int(now // SAMPLE_SECONDS)
    if not await redis.set(keys.health_sample_slot(slot), "1", nx=True, ex=SAMPLE_SECONDS * 2):
        return False
    pools = await StoragePool.all()
    health = await pools_health(redis, keys, pools)
    async with redis.pipeline(transaction=False) as pipe:
        for pool in pools:
            h = health[pool.id]
            key = keys.pool_health_history(pool.id)
            pipe.lpush(key, json.dumps({"at": now, "state": h.state, "used_pct": h.used_pct}))
            pipe.ltrim(key, 0, HEALTH_HISTORY_LENGTH - 1)
            pipe.expire(key, HEALTH_HISTORY_TTL)
        await pipe.execute()
    return True


async def read_history(redis: Redis, keys: RedisKeys, pool_id: int) -> list[Sample]:
    """The pool's samples, oldest first."""
    key = keys.pool_health_history(pool_id)
    raw: list[bytes] = await redis.lrange(key, 0, HEALTH_HISTORY_LENGTH - 1)  # type: ignore[misc]
    samples = []
    for item in reversed(raw):
        try:
            data = json.loads(item)
            samples.append(Sample(float(data["at"]), str(data["state"]), data.get("used_pct")))
        except (ValueError, KeyError, TypeError):
            continue
    return samples


async def _sampler(app: Quart) -> None:
    while True:
        try:
            await record_sample(app.extensions["redis"], app.extensions["keys"])
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # Redis or the database away: try again next slot
            log.warning("health sample failed", error=str(exc))
        await asyncio.sleep(SAMPLE_SECONDS - time.time() % SAMPLE_SECONDS + 0.05)


def install(app: Quart) -> None:
    """Run the sampler while the app serves."""

    @app.before_serving
    async def _start() -> None:
        app.extensions["health_sampler"] = asyncio.get_running_loop().create_task(_sampler(app))

    @app.after_serving
    async def _stop() -> None:
        task: asyncio.Task[None] | None = app.extensions.pop("health_sampler", None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
