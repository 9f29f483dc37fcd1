"""``pixelfox doctor``'s checks of the figures the alerts watch, one line each.

The last database backup, the job queues, the nodes' outbox quarantine, images
short of their copies, and the scheduled scrub's faults: read where the alerts'
metrics come from (the database's backup record, the arq queues in Redis, the
nodes' last heartbeats, the copy rows, the scrub reports in Redis), so the CLI
says the same as the monitoring without a Prometheus. They run after the
checks of :mod:`.doctor` and use the database and Redis those opened.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from .doctor import Check, Context, Result

# The alerts' thresholds (docs/monitoring/pixelfox-alerts.yml).
QUEUE_DEPTH_WARN = 1000
OLDEST_JOB_WARN_SECONDS = 600


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


async def check_backup(ctx: Context) -> AsyncIterator[Result]:
    from pixelfox_app.backups import BACKUP_MAX_AGE_SECONDS, last_backup

    if not ctx.database_ok:
        yield Result("fail", "backup", "not checked: needs the database")
        return
    record = await ctx.bounded(last_backup())
    if record is None:
        yield Result("warn", "backup", "no database backup recorded: run 'pixelfox db backup'")
        return
    age = _duration(record.age_seconds)
    where = f"{record.location} ({record.size} bytes, by {record.by or 'unknown'})"
    if record.age_seconds > BACKUP_MAX_AGE_SECONDS:
        yield Result("fail", "backup", f"the last good database backup is {age} old: {where}")
    else:
        yield Result("ok", "backup", f"database backed up {age} ago: {where}")


async def _queues(ctx: Context) -> list[str]:
    from pixelfox_app.models import StorageNode

    queues = [ctx.keys.control_queue]
    for node in await ctx.bounded(StorageNode.filter(is_active=True).order_by("node_id")):
        queues += [ctx.keys.node_queue(node.node_id), ctx.keys.node_background_queue(node.node_id)]
    return queues


async def check_queues(ctx: Context) -> AsyncIterator[Result]:
    if not ctx.database_ok or ctx.redis is None:
        yield Result("fail", "job queues", "not checked: needs the database and Redis")
        return
    queues = await _queues(ctx)
    async with ctx.redis.pipeline(transaction=False) as pipe:
        for queue in queues:
            pipe.zcard(queue)
            # arq scores a job with the Unix time in ms it is due at.
            pipe.zrange(queue, 0, 0, withscores=True)
        answers = await ctx.bounded(pipe.execute())
    now_ms = time.time() * 1000
    depth: dict[str, int] = {}
    waited: dict[str, float] = {}
    for queue, count, first in zip(queues, answers[0::2], answers[1::2], strict=True):
        depth[queue] = int(count)
        waited[queue] = max(0.0, (now_ms - first[0][1]) / 1000) if first else 0.0
    total = sum(depth.values())
    oldest_queue = max(waited, key=lambda q: waited[q])
    oldest = waited[oldest_queue]
    detail = f"{total} job(s) in {len(queues)} queue(s), oldest waiting {_duration(oldest)}"
    deep = [q for q, n in depth.items() if n > QUEUE_DEPTH_WARN]
    if deep:
        yield Result("warn", "job queues", f"{detail}; backed up: {', '.join(deep)}")
    elif oldest > OLDEST_JOB_WARN_SECONDS:
        yield Result("warn", "job queues", f"{detail} (in {oldest_queue}): is its worker running?")
    else:
        yield Result("ok", "job queues", detail)


async def check_quarantine(ctx: Context) -> AsyncIterator[Result]:
    from pixelfox_app.models import StorageNode

    if not ctx.database_ok or ctx.redis is None:
        yield Result("fail", "outbox quarantine", "not checked: needs the database and Redis")
        return
    nodes = await ctx.bounded(StorageNode.filter(is_active=True).order_by("node_id"))
    beats = (
        await ctx.bounded(ctx.redis.mget([ctx.keys.node_heartbeat(n.node_id) for n in nodes]))
        if nodes
        else []
    )
    held: dict[str, int] = {}
    unknown = []
    for node, raw in zip(nodes, beats, strict=True):
        beat = _json(raw)
        if beat is None:
            unknown.append(node.node_id)
        elif int(beat.get("quarantined_uploads") or 0):
            held[node.node_id] = int(beat["quarantined_uploads"])
    tail = f" (not known for {', '.join(unknown)}: no fresh heartbeat)" if unknown else ""
    if held:
        counts = ", ".join(f"{node}: {n}" for node, n in held.items())
        yield Result(
            "warn",
            "outbox quarantine",
            f"refused uploads kept on {counts}; see docs/operations.md{tail}",
        )
    else:
        yield Result("ok", "outbox quarantine", f"no refused upload on any node{tail}")


def _json(raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


async def check_copies(ctx: Context) -> AsyncIterator[Result]:
    from datetime import UTC, datetime

    from pixelfox_app.copies.stats import copy_stats

    if not ctx.database_ok:
        yield Result("fail", "image copies", "not checked: needs the database")
        return
    stats = await ctx.bounded(copy_stats())
    if not stats.under_replicated:
        yield Result("ok", "image copies", f"every image has its copies ({stats.pending} pending)")
        return
    short = ", ".join(f"{p.pool}: {p.under_replicated}" for p in stats.pools if p.under_replicated)
    since = ""
    if stats.oldest is not None:
        waiting = (datetime.now(UTC) - stats.oldest).total_seconds()
        since = f", the oldest uploaded {_duration(waiting)} ago"
    count = stats.under_replicated
    yield Result("warn", "image copies", f"{count} image(s) short of copies ({short}){since}")


async def check_scrub(ctx: Context) -> AsyncIterator[Result]:
    if ctx.redis is None:
        yield Result("fail", "scrub", "not checked: needs Redis")
        return
    found: dict[str, int] = {}
    unrepaired: dict[str, int] = {}
    passes = 0
    async for key in ctx.redis.scan_iter(match=ctx.keys.node_scrub_pattern(), count=200):
        state = _json(await ctx.bounded(ctx.redis.get(key)))
        report = (state or {}).get("report")
        if not isinstance(report, dict):
            continue
        passes += 1
        name = _scrub_name(key if isinstance(key, str) else key.decode())
        faults = sum(int(n) for n in (report.get("faults") or {}).values())
        left = sum(int(n) for n in (report.get("unrepaired") or {}).values())
        if faults:
            found[name] = faults
        if left:
            unrepaired[name] = left
    if not passes:
        yield Result("ok", "scrub", "no scheduled scrub pass has finished yet")
    elif unrepaired:
        counts = ", ".join(f"{name}: {n}" for name, n in sorted(unrepaired.items()))
        yield Result("fail", "scrub", f"faults the scrub could not repair: {counts}")
    elif found:
        counts = ", ".join(f"{name}: {n}" for name, n in sorted(found.items()))
        yield Result("warn", "scrub", f"the last passes found faults: {counts} (admin: Scrub)")
    else:
        yield Result("ok", "scrub", f"the last pass of {passes} pool(s) found no fault")


def _scrub_name(key: str) -> str:
    """``<prefix>:node:<node>:scrub:<pool>`` → ``pool <pool> on <node>``."""
    parts = key.split(":")
    return f"pool {parts[-1]} on {parts[-3]}" if len(parts) >= 4 else key


CHECKS: list[Check] = [check_backup, check_queues, check_quarantine, check_copies, check_scrub]
