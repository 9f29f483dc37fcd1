"""The trash's purge: images deleted longer ago than the operator's retention go for good.

Every minute the control worker queues a purge on every pool holding files of
such an image (``images.trash.start_purge``): the node deletes the files,
trashed or not, and the original's S3 backup object, and reports; the rows go
with the report. A node that is down finds its job in its queue in Redis when
it comes back. A purge whose jobs are neither queued nor running an hour later
(lost with a Redis that forgot its queues) is queued again.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from ..images.trash import retention, start_purge
from ..models import Image

log = logging.getLogger(__name__)

BATCH = 200
# Bounds one run's work; what is left is taken a minute later.
MAX_PER_RUN = 5000
REQUEUE_AFTER = timedelta(hours=1)


async def purge_trash(ctx: dict[str, Any]) -> dict[str, int]:
    """Cron, every minute: start the purge of images past their trash retention."""
    now = datetime.now(UTC)
    outcomes: Counter[str] = Counter()
    cutoff = now - await retention()
    stuck = now - REQUEUE_AFTER
    for what, query in (
        ("started", Image.filter(deleted_at__lte=cutoff, purging_at=None)),
        ("requeued", Image.filter(deleted_at__isnull=False, purging_at__lt=stuck)),
    ):
        last_id = 0
        while outcomes[what] < MAX_PER_RUN:
            batch = await (
                query.filter(id__gt=last_id).select_related("pool").order_by("id").limit(BATCH)
            )
            if not batch:
                break
            for image in batch:
                queued = await start_purge(image, ctx["redis"], ctx["keys"], again=True)
                outcomes[what if queued else "waiting"] += 1
            last_id = batch[-1].id
    if outcomes["started"] or outcomes["requeued"]:
        log.info(
            "trash purge: %d started, %d queued again",
            outcomes["started"],
            outcomes["requeued"],
        )
    return dict(outcomes)
