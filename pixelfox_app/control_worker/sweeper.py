"""The stuck-processing sweeper (the seed's "Stuck-Job-Recovery").

An image normally leaves ``processing`` within seconds. One that is still
there after ``STUCK_AFTER`` lost its job somewhere: the app died between
creating the image and queueing, Redis lost the queue, the node's report gave
up after its retries. Every minute the sweeper puts such images' jobs back on
their node's fresh lane. It never starts a second job beside a live one, and
the node's processing is deterministic, so a put-back job writes the same
bytes a lost one would have.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from ..models import Image, ImageState
from ..nodequeue import requeue_processing

log = logging.getLogger(__name__)

STUCK_AFTER = timedelta(minutes=10)
BATCH = 200
# Bounds one sweep's work; what is left is looked at a minute later.
MAX_PER_SWEEP = 5000


async def sweep_stuck_images(ctx: dict[str, Any]) -> dict[str, int]:
    """Cron, every minute: re-enqueue ``process_image`` for images stuck in processing.

    Stuck means in state ``processing``, created more than ``STUCK_AFTER`` ago,
    with no job queued, deferred or running for it, and none that finished in
    the last ``STUCK_AFTER`` (its report may still arrive; a job that gave up
    is thus put back at most every ``STUCK_AFTER``).
    """
    now = datetime.now(UTC)
    cutoff = now - STUCK_AFTER
    outcomes: Counter[str] = Counter()
    last_id = 0
    while sum(outcomes.values()) < MAX_PER_SWEEP:
        batch = (
            await Image.filter(
                state=ImageState.PROCESSING, created_at__lt=cutoff, id__gt=last_id, deleted_at=None
            )
            .select_related("pool")
            .order_by("id")
            .limit(BATCH)
        )
        if not batch:
            break
        for image in batch:
            outcome = await requeue_processing(
                ctx["redis"], ctx["keys"], image, image.pool, settle=STUCK_AFTER, now=now
            )
            outcomes[outcome] += 1
        last_id = batch[-1].id
    if outcomes["requeued"]:
        log.warning(
            "stuck processing: requeued %d image(s); %d still waiting for their node",
            outcomes["requeued"],
            outcomes["waiting"],
        )
    return dict(outcomes)
