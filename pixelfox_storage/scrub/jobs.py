"""The scheduled scrub: a slice of work per pool every ten minutes, on the background lane.

Each slice goes on from the pool's cursor (``RedisKeys.node_scrub``) for at
most ``scrub_slice_seconds`` at ``scrub_bytes_per_second``; when a pass reaches
the end it looks for orphans, keeps its report for the admin and waits until
``scrub_pass_days`` after the pass began. It runs on the node (not from the
control worker) because the node knows its pools and disks, and a node that
is cut off from the app's queue still checks itself.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from pixelfox_common import metrics
from pixelfox_common.metrics import observed_job

from ..backup.store import client_for
from ..node_jobs.context import NodeContext
from ..pools import PoolMapUnavailable
from .peer import CopySource
from .repair import BackupSource
from .run import Scrubber, ScrubOptions, ScrubReport, load_state, save_state

log = logging.getLogger(__name__)


def scrubber(node: NodeContext, redis: Any) -> Scrubber:
    """The node's scrubber; repair sources in order: another node's copy, the S3 backup."""
    return Scrubber(
        node_id=node.settings.node_id,
        api=node.app,
        redis=redis,
        keys=node.keys,
        specs=node.specs,
        limits=node.limits,
        sources=[CopySource(node.http), BackupSource(client_for(node.settings))],
    )


def publish_faults(pool_id: int, state: dict[str, Any]) -> None:
    """The faults of the pool's last finished pass as metrics (none yet: nothing published)."""
    if not state.get("report"):
        return
    report = ScrubReport.from_json(state["report"])
    metrics.set_scrub_faults(pool_id, report.fault_count, sum(report.unrepaired.values()))


@observed_job("scrub_pools")
async def scrub_pools_job(ctx: dict[str, Any]) -> dict[str, Any]:
    """Cron: the next slice of the scheduled scrub of each of this node's pools."""
    node: NodeContext = ctx["node"]
    settings = node.settings
    if not settings.scrub_enabled:
        return {"state": "off"}
    try:
        pool_map = node.pools.current or await node.pools.refresh()
    except PoolMapUnavailable as exc:
        log.warning("scrub skipped: %s", exc)
        return {"state": "no-pool-map"}
    options = ScrubOptions(
        hashes=settings.scrub_hashes,
        repair=settings.scrub_repair,
        bytes_per_second=settings.scrub_bytes_per_second,
        grace_seconds=settings.scrub_grace_seconds,
        incoming_grace_seconds=settings.incoming_lifetime,
    )
    worker = scrubber(node, ctx["redis"])
    until = time.monotonic() + settings.scrub_slice_seconds
    done: dict[str, Any] = {}
    for pool in sorted(pool_map.pools.values(), key=lambda p: p.id):
        state = await load_state(ctx["redis"], node.keys, settings.node_id, pool.id)
        publish_faults(pool.id, state)
        cursor = state.get("cursor")
        if cursor is None:
            if time.time() < float(state.get("pass_started", 0)) + settings.scrub_pass_days * 86400:
                continue
            state["pass_started"] = time.time()
            cursor, current = 0, None
        else:
            current = (
                ScrubReport.from_json(state.get("current") or {}) if state.get("current") else None
            )
        if current is None:
            current = ScrubReport(
                settings.node_id, pool.id, options.hashes, options.repair, False, scheduled=True
            )
        report, cursor = await worker.run(
            pool, options, report=current, after=int(cursor), until=until
        )
        if cursor is None and not report.orphans_checked:
            await worker.orphan_faults(pool, options, report)
        if cursor is None:
            state.update(report=report.to_json(), current=None, cursor=None)
            publish_faults(pool.id, state)
        else:
            state.update(current=report.to_json(), cursor=cursor)
        await save_state(ctx["redis"], node.keys, settings.node_id, pool.id, state)
        done[str(pool.id)] = "pass done" if cursor is None else f"at image {cursor}"
        if time.monotonic() >= until:
            break  # every due pool gets at least one page per slice it reaches
    return {"state": "ran", "pools": done}
