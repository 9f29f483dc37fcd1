"""The control worker's copy check (cron, every minute): repair, surplus, stuck pushes, metrics.

- Images with fewer verified copies than their factor (a copy lost, the factor
  raised, a second node added, a placement that found no room) get their
  missing copies placed and pushed, newest images first, so fresh uploads are
  whole again before old ones — at most ``repair_jobs_per_node`` pushes queued
  per source node (:mod:`.throttle`); the rest wait for the next check, which
  also comes a moment after a repair push ended.
- Replicas on a pool being drained (the source of a running move) are placed
  anew elsewhere, the same way; the drained copy goes once the new one is
  verified (:mod:`.surplus`).
- Images with more verified copies than their factor (the factor lowered) lose
  the surplus, only while enough other verified copies stay (:mod:`.surplus`).
- A copy pending for longer than ``STUCK_AFTER`` lost its job (a worker gone,
  a push that gave up): its job goes back on a source's lane, never beside a
  live one; a removing copy whose purge job is gone gets it again.
- The replication lag and the under-replicated counts go to the metrics.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from arq.connections import ArqRedis
from tortoise.expressions import Q
from tortoise.functions import Count

from pixelfox_common import metrics
from pixelfox_protocol.keys import RedisKeys

from ..models import CopyState, Image, ImageCopy, ImageState
from .factor import leaving_pools
from .replicas import fill, replicas_on
from .stats import copy_stats, short_of
from .surplus import purge_again, trim
from .throttle import RepairBudget

log = logging.getLogger(__name__)

STUCK_AFTER = timedelta(minutes=5)
# Bounds one check's work; what is left is looked at a minute later.
MAX_PER_CHECK = 500


async def check_copies(ctx: dict[str, Any]) -> dict[str, int]:
    """Cron: fill under-replicated images, re-place drained replicas, remove surplus copies,
    requeue stuck pushes, update the metrics."""
    redis, keys = ctx["redis"], ctx["keys"]
    budget = await RepairBudget.from_knob(redis, keys)
    stats = await copy_stats()
    leaving = await leaving_pools()
    queued = stuck = removing = 0
    for pool in stats.pools:
        if not pool.under_replicated:
            continue
        for image in (
            await short_of(pool.factor, pool.pool_id).order_by("-created_at").limit(MAX_PER_CHECK)
        ):
            queued += await fill(image, redis, keys, budget=budget)
    for pool_id in sorted(leaving):
        queued += await replace_drained(pool_id, redis, keys, budget, leaving)
    for pool in stats.pools:
        for image in await beyond(pool.factor, pool.pool_id).limit(MAX_PER_CHECK):
            removing += await trim(image, redis, keys, leaving=leaving)
    cutoff = datetime.now(UTC) - STUCK_AFTER
    old = ImageCopy.filter(state=CopyState.PENDING, created_at__lt=cutoff)
    image_ids = {int(row["image_id"]) for row in await old.limit(MAX_PER_CHECK).values("image_id")}
    for image in await Image.filter(id__in=list(image_ids)).order_by("-created_at"):
        stuck += await fill(image, redis, keys, again=True, budget=budget)
    purges = await purge_again(redis, keys, MAX_PER_CHECK)
    metrics.set_copy_state(
        stats.lag_p50,
        stats.lag_p95,
        stats.pending,
        {pool.pool: pool.under_replicated for pool in stats.pools},
    )
    if queued or stuck or removing:
        log.warning(
            "copies: %d repair job(s) queued, %d stuck push(es) requeued, %d surplus removing",
            queued,
            stuck,
            removing,
        )
    return {
        "under_replicated": stats.under_replicated,
        "queued": queued,
        "requeued": stuck,
        "removing": removing,
        "purges_queued": purges,
    }


def beyond(factor: int, pool_id: int) -> Any:
    """Ready images of the pool with more verified copies than ``factor`` (a queryset)."""
    verified = Count("copies", _filter=Q(copies__state=CopyState.VERIFIED))
    return (
        Image.filter(pool_id=pool_id, state=ImageState.READY, deleted_at__isnull=True)
        .annotate(verified=verified)
        .filter(verified__gt=factor)
        .order_by("-created_at")
    )


async def replace_drained(
    pool_id: int,
    redis: ArqRedis,
    keys: RedisKeys,
    budget: RepairBudget,
    leaving: set[int] | None = None,
) -> int:
    """Re-place the replicas on a pool being drained, newest images first: a new copy
    elsewhere for each (throttled), pushed from a verified copy; the drained one starts
    going once the new one is verified (``surplus.trim``). Returns the jobs queued."""
    leaving = await leaving_pools() if leaving is None else leaving
    drained = replicas_on(pool_id).order_by("-image_id").limit(MAX_PER_CHECK)
    rows: list[int] = await drained.values_list("image_id", flat=True)  # type: ignore[assignment]
    queued = 0
    for image in await Image.filter(id__in=rows).order_by("-created_at", "-id"):
        queued += await fill(image, redis, keys, budget=budget)
        await trim(image, redis, keys, leaving=leaving)
    return queued
