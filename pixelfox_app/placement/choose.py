"""Placing one upload: gather the facts, judge every pool, let the strategy choose, explain."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass, field

from redis.asyncio import Redis

from pixelfox_protocol.errors import APIError
from pixelfox_protocol.keys import HEARTBEAT_TTL, RedisKeys

from .. import knobs
from ..models import StorageNode, StoragePool
from ..nodes import node_of
from .eligibility import (
    PoolFacts,
    judge_direct,
    judge_proxy,
    local_disk,
    static_skip,
    verdict_for,
)
from .explain import Explanation, Verdict
from .health import reachability_failed, read_nodes
from .strategies import strategy_named

log = logging.getLogger(__name__)
_RANDOM = random.SystemRandom()


@dataclass(frozen=True)
class PlacementRequest:
    """What placement knows of one upload."""

    file_size: int
    avoid_nodes: frozenset[str] = field(default_factory=frozenset)
    # Pools that must not take it (a replica: a pool being drained).
    avoid_pools: frozenset[int] = field(default_factory=frozenset)
    region: str | None = None
    region_source: str | None = None
    # Proxy mode: the app writes the file itself, into a pool on its own host.
    local_only: bool = False


@dataclass(frozen=True)
class Placement:
    pool: StoragePool
    explanation: Explanation


class NoEligiblePool(APIError):
    """NO_STORAGE, carrying the explanation of why every pool was skipped."""

    def __init__(self, explanation: Explanation) -> None:
        super().__init__("NO_STORAGE")
        self.explanation = explanation


async def _direct_facts(
    redis: Redis, keys: RedisKeys, pools: list[StoragePool], nodes: dict[str, StorageNode]
) -> list[PoolFacts]:
    if not pools:
        return []
    beats = await read_nodes(redis, keys, [node_of(p) for p in pools])
    async with redis.pipeline(transaction=False) as pipe:
        pipe.mget([keys.pool_reachable(p.id) for p in pools])
        pipe.mget([keys.pool_placed_bytes(p.id) for p in pools])
        reach, placed = await pipe.execute()
    facts = []
    for pool, raw_reach, raw_placed in zip(pools, reach, placed, strict=True):
        beat, health = beats[node_of(pool)]
        facts.append(
            PoolFacts(
                pool=pool,
                node=nodes.get(node_of(pool)),
                beat=beat,
                health=health,
                reachability_error=None
                if raw_reach is None
                else (reachability_failed(raw_reach) or ""),
                placed_bytes=int(raw_placed or 0),
            )
        )
    return facts


def _avoided(verdict: Verdict, pool: StoragePool, avoid_pools: frozenset[int]) -> bool:
    if pool.id in avoid_pools:
        verdict.skip("pool_avoided")
        return True
    return False


def _prefer_region(explanation: Explanation, eligible: list[Verdict]) -> list[Verdict]:
    region = explanation.region
    if not region:
        return eligible
    local = [v for v in eligible if v.region == region]
    if not local:
        explanation.rule = f"no eligible pool in region {region}; any region"
        return eligible
    for verdict in eligible:
        if verdict.region != region:
            verdict.skip("other_region", f"pool region {verdict.region or '-'}, client {region}")
    return local


async def place(
    request: PlacementRequest,
    redis: Redis,
    keys: RedisKeys,
    *,
    strategy: str | None = None,
    rng: random.Random | None = None,
) -> Placement:
    """Choose the pool for one upload, or raise :class:`NoEligiblePool` (NO_STORAGE).

    ``strategy`` defaults to the operator's knob; ``rng`` lets tests fix the draws
    of ``weighted_random``. In direct mode the chosen pool's placed-bytes counter
    grows by the file's size until its node's next heartbeat.
    """
    name, choose = strategy_named(strategy or str(await knobs.get("placement_strategy")))
    explanation = Explanation(
        mode="proxy" if request.local_only else "direct",
        strategy=name,
        file_size=request.file_size,
        region=request.region,
        region_source=request.region_source,
        avoid_nodes=sorted(request.avoid_nodes),
    )
    pools = list(await StoragePool.all().order_by("id"))
    nodes = {n.node_id: n for n in await StorageNode.all()}
    verdicts = {p.id: verdict_for(p) for p in pools}
    open_pools = [
        p
        for p in pools
        if not static_skip(verdicts[p.id], p, nodes.get(node_of(p)), request.avoid_nodes)
        and not _avoided(verdicts[p.id], p, request.avoid_pools)
    ]
    if request.local_only:
        disks = await asyncio.to_thread(lambda: [local_disk(p.base_path) for p in open_pools])
        for pool, disk in zip(open_pools, disks, strict=True):
            judge_proxy(verdicts[pool.id], pool, disk, request.file_size)
    else:
        now = time.time()
        for facts in await _direct_facts(redis, keys, open_pools, nodes):
            judge_direct(verdicts[facts.pool.id], facts, request.file_size, now)
    eligible = [v for v in verdicts.values() if v.eligible]
    if name == "weighted_random":
        for verdict in eligible:
            if verdict.weight <= 0:
                verdict.skip("zero_weight")
        eligible = [v for v in eligible if v.eligible]
    candidates = _prefer_region(explanation, eligible)
    explanation.candidates = candidates
    explanation.skipped = [v for v in verdicts.values() if not v.eligible]
    if not candidates:
        log.warning("placement found no pool: %s", explanation.summary())
        raise NoEligiblePool(explanation)
    chosen, rule = choose(candidates, rng or _RANDOM)
    explanation.chosen = chosen
    explanation.rule = f"{explanation.rule}; {rule}" if explanation.rule else rule
    if not request.local_only:
        await _count_placed(redis, keys, chosen.pool_id, request.file_size)
    log.info("placement: %s", explanation.summary())
    pool = next(p for p in pools if p.id == chosen.pool_id)
    return Placement(pool, explanation)


async def _count_placed(redis: Redis, keys: RedisKeys, pool_id: int, size: int) -> None:
    key = keys.pool_placed_bytes(pool_id)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.incrby(key, size)
        pipe.expire(key, HEARTBEAT_TTL)
        await pipe.execute()
