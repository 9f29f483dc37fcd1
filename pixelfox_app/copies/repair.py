"""The control worker's copy check (cron, every minute): repair, stuck pushes, metrics.

- Images with fewer verified copies than their factor (a copy lost, the factor
  raised, a second node added, a placement that found no room) get their
  missing copies placed and pushed, newest images first, so fresh uploads are
  whole again before old ones.
- A copy pending for longer than ``STUCK_AFTER`` lost its job (a worker gone,
  a push that gave up): its job goes back on a source's lane, never beside a
  live one.
- The replication lag and the under-replicated counts go to the metrics.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from pixelfox_common import metrics

from ..models import CopyState, Image, ImageCopy
from .replicas import fill
from .stats import copy_stats, short_of

log = logging.getLogger(__name__)

STUCK_AFTER = timedelta(minutes=5)
# Bounds one check's work; what is left is looked at a minute later.
MAX_PER_CHECK = 500


async def check_copies(ctx: dict[str, Any]) -> dict[str, int]:
    """Cron: fill under-replicated images, requeue stuck pushes, update the metrics."""
    redis, keys = ctx["redis"], ctx["keys"]
    stats = await copy_stats()
    queued = stuck = 0
    for pool in stats.pools:
        if not pool.under_replicated:
            continue
        for image in (
            await short_of(pool.factor, pool.pool_id).order_by("-created_at").limit(MAX_PER_CHECK)
        ):
            queued += await fill(image, redis, keys)
    cutoff = datetime.now(UTC) - STUCK_AFTER
    old = ImageCopy.filter(state=CopyState.PENDING, created_at__lt=cutoff)
    image_ids = {int(row["image_id"]) for row in await old.limit(MAX_PER_CHECK).values("image_id")}
    for image in await Image.filter(id__in=list(image_ids)).order_by("-created_at"):
        stuck += await fill(image, redis, keys, again=True)
    metrics.set_copy_state(
        stats.lag_p50,
        stats.lag_p95,
        stats.pending,
        {pool.pool: pool.under_replicated for pool in stats.pools},
    )
    if queued or stuck:
        log.warning("copies: %d repair job(s) queued, %d stuck push(es) requeued", queued, stuck)
    return {"under_replicated": stats.under_replicated, "queued": queued, "requeued": stuck}
