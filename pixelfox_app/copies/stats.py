"""What the admin and the metrics show of copies: images short of their factor, and lag.

Counted from the rows, per primary pool: an image is under-replicated when
fewer of its copies are verified than its pool's factor asks for. Replication
lag is the age of the pending copies (p50 and p95); a healthy installation
has none older than a few seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.expressions import Q
from tortoise.functions import Count
from tortoise.queryset import QuerySet

from ..models import CopyState, Image, ImageCopy, ImageState, StoragePool
from .factor import effective_factor, storage_node_count


@dataclass(frozen=True)
class PoolCopies:
    pool_id: int
    pool: str
    factor: int
    under_replicated: int
    oldest: datetime | None  # the oldest under-replicated image's upload time


@dataclass(frozen=True)
class CopyStats:
    pools: list[PoolCopies]
    pending: int
    lag_p50: float  # seconds
    lag_p95: float
    removing: int = 0  # surplus copies whose files their nodes are deleting

    @property
    def under_replicated(self) -> int:
        return sum(p.under_replicated for p in self.pools)

    @property
    def oldest(self) -> datetime | None:
        dates = [p.oldest for p in self.pools if p.oldest is not None]
        return min(dates) if dates else None


def short_of(factor: int, pool_id: int) -> QuerySet[Image]:
    """Ready images of the pool with fewer verified copies than ``factor`` (a queryset)."""
    verified = Count("copies", _filter=Q(copies__state=CopyState.VERIFIED))
    return (
        Image.filter(pool_id=pool_id, state=ImageState.READY, deleted_at__isnull=True)
        .annotate(verified=verified)
        .filter(verified__lt=factor)
    )


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of ``values`` (0 for none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))
    return ordered[rank]


async def copy_stats(now: datetime | None = None) -> CopyStats:
    now = now or datetime.now(UTC)
    nodes = await storage_node_count()
    pools = []
    for pool in await StoragePool.all().order_by("name"):
        factor = effective_factor(pool, nodes)
        query = short_of(factor, pool.id)
        count = await query.count()
        oldest = await query.order_by("created_at").first() if count else None
        since = oldest.created_at if oldest else None
        pools.append(PoolCopies(pool.id, pool.name, factor, count, since))
    created = await ImageCopy.filter(state=CopyState.PENDING).values("created_at")
    ages = [_age(now, row["created_at"]) for row in created]
    removing = await ImageCopy.filter(state=CopyState.REMOVING).count()
    return CopyStats(
        pools, len(ages), percentile(ages, 0.5), percentile(ages, 0.95), removing=removing
    )


def _age(now: datetime, when: datetime) -> float:
    if when.tzinfo is None:  # SQLite hands back naive UTC
        when = when.replace(tzinfo=UTC)
    return max(0.0, (now - when).total_seconds())
