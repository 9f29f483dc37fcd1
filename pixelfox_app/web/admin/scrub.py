"""Scrub results per pool: what each node's last scrub found and repaired, and a run in progress.

Nodes keep their reports in Redis under their own keys (``RedisKeys.node_scrub``,
written by ``pixelfox_storage.scrub``); this page only reads them. It polls
while a scheduled pass is under way and stops by itself when none is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pixelfox_protocol.keys import RedisKeys

from ...models import StoragePool
from ...nodes import node_of
from ..access import page_admin_required
from ..render import page
from .base import blueprint, keys, redis

POLL_SECONDS = 10
# The fault kinds in the order the page shows them (pixelfox_storage.scrub.check).
FAULT_KINDS = (
    "missing",
    "wrong-size",
    "wrong-sha256",
    "missing-variant",
    "orphan",
    "stray-incoming",
)


@dataclass(frozen=True)
class ScrubRow:
    pool_id: int
    pool_name: str
    node_id: str
    report: dict[str, Any] | None
    current: dict[str, Any] | None

    @property
    def finished_at(self) -> datetime | None:
        at = (self.report or {}).get("finished_at")
        return datetime.fromtimestamp(at, UTC) if isinstance(at, int | float) else None

    def count(self, tally: str, kind: str) -> int:
        counts = (self.report or {}).get(tally) or {}
        value = counts.get(kind, 0) if isinstance(counts, dict) else 0
        return value if isinstance(value, int) else 0

    @property
    def faults(self) -> int:
        return sum(self.count("faults", kind) for kind in FAULT_KINDS)

    @property
    def details(self) -> list[dict[str, str]]:
        listed = (self.report or {}).get("details") or []
        return [d for d in listed if isinstance(d, dict)][:20]


def _parse(raw: bytes | None) -> dict[str, Any]:
    try:
        state = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return state if isinstance(state, dict) else {}


async def scrub_rows(names: RedisKeys) -> list[ScrubRow]:
    pools = await StoragePool.all().order_by("id")
    if not pools:
        return []
    raws = await redis().mget([names.node_scrub(node_of(p), p.id) for p in pools])
    rows = []
    for pool, raw in zip(pools, raws, strict=True):
        state = _parse(raw)
        report, current = state.get("report"), state.get("current")
        rows.append(
            ScrubRow(
                pool_id=pool.id,
                pool_name=pool.name,
                node_id=node_of(pool),
                report=report if isinstance(report, dict) else None,
                current=current if isinstance(current, dict) else None,
            )
        )
    return rows


@blueprint.get("/scrub")
@page_admin_required
async def scrub_index():
    """Each pool's last scrub: counts per fault, repaired and not; its own fragment for htmx."""
    rows = await scrub_rows(keys())
    return await page(
        "admin/scrub/index.html",
        "admin/scrub/_scrub.html",
        rows=rows,
        kinds=FAULT_KINDS,
        running=any(r.current for r in rows),
        poll_seconds=POLL_SECONDS,
    )
