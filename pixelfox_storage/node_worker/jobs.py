"""Job functions of a node worker.

Their names and arguments are the contract's (``pixelfox_protocol.jobs``):
``process_image`` (``jobs.ProcessImage``) is enqueued by the app on the
node's fresh lane with the job id ``RedisKeys.process_job``. The same
function on the background lane re-makes variants of older images
(backfills, restores).

``change_visibility`` (``jobs.ChangeVisibility``), job id
``RedisKeys.visibility_job`` on the fresh lane, moves an image's
files into the private subtree or out of it and reports where they are now.
Both hold the image's lock (``imagelock``), so variants are never written into
the subtree the image is leaving.

``trash_image`` (``jobs.TrashImage``, fresh lane) renames a deleted image's
files on one pool into the pool's trash, or back for a restore;
``purge_image`` (``jobs.PurgeImage``, background lane) deletes them and the
original's S3 backup for good. They hold the image's lock too, so a delete
never interleaves with a visibility change, processing or a move of the image.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

from arq import Retry

from pixelfox_common.logs import job_context
from pixelfox_common.metrics import observed_job
from pixelfox_protocol import jobs
from pixelfox_protocol.internal import PurgeReport, TrashReport, VariantReport, VisibilityReport
from pixelfox_protocol.layout import UnsafePath

from ..appapi import AppUnavailable, ImageGone
from ..backup.jobs import pool_info
from ..backup.store import BackupUnavailable, client_for, delete_original, object_key
from ..node_jobs.context import NodeContext
from ..node_jobs.imagelock import ImageBusy, image_lock
from ..pools import PoolMapUnavailable, UnknownPool
from ..processing import ImageLimits
from .files import move_to_subtree, move_to_trash, purge_files, sweep_temp_files
from .variants import make_variants

log = logging.getLogger(__name__)

# Retries wait 1, 2, 4 … seconds, capped at 5 minutes: with MAX_TRIES the job
# keeps trying for about 20 minutes, then the app's sweeper takes over.
BACKOFF_BASE = 1.0
BACKOFF_MAX = 300.0
MAX_TRIES = 12
# No job keeps a temporary file this long; older ones are left-overs of a crash.
STALE_TEMP_SECONDS = 3600


def backoff(job_try: int) -> float:
    """Seconds to wait before try ``job_try + 1``."""
    return float(min(BACKOFF_BASE * 2 ** max(job_try - 1, 0), BACKOFF_MAX))


@observed_job("process")
async def process_image(
    ctx: dict[str, Any],
    image_uuid: str,
    pool_id: int,
    path: str,
    request_id: str,
    *,
    force: bool = False,
) -> dict[str, Any]:
    """Make the variants of one image beside its original and report them to the app.

    Idempotent: variants already written are kept, encoding is deterministic.
    A backfill after a change of encoder settings passes ``force=True`` to
    encode again. A broken or over-limit original is reported as ``failed``
    (no retry); an unreachable app makes the job retry with backoff.
    """
    node: NodeContext = ctx["node"]
    job_try = int(ctx.get("job_try", 1))
    with job_context(
        job_id=ctx.get("job_id"),
        job=jobs.PROCESS_IMAGE,
        request_id=request_id,
        image_uuid=image_uuid,
        pool_id=pool_id,
    ):
        base = await _pool_base(node, pool_id, job_try)
        async with _holding(ctx, image_uuid, job_try, "its files are being moved"):
            return await _process(node, base, image_uuid, path, request_id, job_try, force)


@asynccontextmanager
async def _holding(
    ctx: dict[str, Any], image_uuid: str, job_try: int, busy_with: str
) -> AsyncIterator[None]:
    """The image's lock for the block; held by another job: retry this one soon."""
    node: NodeContext = ctx["node"]
    try:
        async with image_lock(
            ctx["redis"], node.keys, node.settings.node_id, image_uuid, ctx.get("job_id")
        ):
            yield
    except ImageBusy as exc:
        log.info("image busy (%s); try %d again soon", busy_with, job_try)
        raise Retry(defer=backoff(job_try)) from exc


async def _pool_base(node: NodeContext, pool_id: int, job_try: int) -> Path:
    try:
        return await node.pools.base_path(pool_id)
    except PoolMapUnavailable as exc:
        log.warning("pool map unavailable, retrying: %s", exc)
        raise Retry(defer=backoff(job_try)) from exc
    except UnknownPool:
        # A job for a pool that is not here was routed to the wrong node; the
        # app must fix that, and a report from this node would be wrong.
        log.error("pool %s is not on node %s", pool_id, node.settings.node_id)
        raise


async def _process(
    node: NodeContext,
    base: Path,
    image_uuid: str,
    path: str,
    request_id: str,
    job_try: int,
    force: bool,
) -> dict[str, Any]:
    started = time.perf_counter()
    report: VariantReport = await asyncio.to_thread(
        partial(make_variants, force=force),
        base,
        image_uuid,
        path,
        node.specs,
        _limits(node),
    )
    took = time.perf_counter() - started
    if report.state == "failed":
        log.warning("processing failed: %s", report.error)
    else:
        log.info("variants ready", extra={"variants": len(report.variants), "seconds": took})

    if not await _deliver(node.app.report_variants(image_uuid, report, request_id), job_try):
        return {"state": "gone"}
    return {"state": report.state, "variants": len(report.variants), "seconds": took}


async def _deliver(sending: Awaitable[None], job_try: int) -> bool:
    """Send a report to the app; retry the job when it is unreachable, False when gone."""
    try:
        await sending
    except AppUnavailable as exc:
        defer = backoff(job_try)
        log.warning("report not delivered (%s); try %d again in %.0fs", exc, job_try, defer)
        raise Retry(defer=defer) from exc
    except ImageGone:
        log.info("the app no longer knows this image; nothing to report")
        return False
    return True


@observed_job("visibility")
async def change_visibility(
    ctx: dict[str, Any],
    image_uuid: str,
    pool_id: int,
    path: str,
    private: bool,
    request_id: str,
) -> dict[str, Any]:
    """Move an image's original and variants into the private subtree (or out of it).

    ``path`` is the original's path as the app knew it; the job looks in both
    subtrees, so a run after a crash (files already moved) only reports. The
    app switches the image's URLs when the report arrives; until then the old
    URLs keep working, as the files are renamed, never copied. An original in
    neither subtree fails the job without a report (the image stays
    "changing" for an operator to look at).
    """
    node: NodeContext = ctx["node"]
    job_try = int(ctx.get("job_try", 1))
    with job_context(
        job_id=ctx.get("job_id"),
        job=jobs.CHANGE_VISIBILITY,
        request_id=request_id,
        image_uuid=image_uuid,
        pool_id=pool_id,
    ):
        base = await _pool_base(node, pool_id, job_try)
        try:
            async with _holding(ctx, image_uuid, job_try, "variants being made"):
                moved = await asyncio.to_thread(move_to_subtree, base, image_uuid, path, private)
                report = VisibilityReport(
                    private=private, path=moved.original, variants=moved.variants
                )
                sending = node.app.report_visibility(image_uuid, report, request_id)
                if not await _deliver(sending, job_try):
                    return {"state": "gone"}
        except (FileNotFoundError, UnsafePath, ValueError) as exc:
            log.error("visibility change impossible: %s", exc)
            return {"state": "failed", "error": str(exc)}
        log.info(
            "files moved",
            extra={"private": private, "variants": len(moved.variants), "path": moved.original},
        )
        return {"state": "moved", "private": private, "variants": len(moved.variants)}


@observed_job("trash")
async def trash_image(
    ctx: dict[str, Any],
    image_uuid: str,
    pool_id: int,
    path: str,
    trashed: bool,
    request_id: str,
) -> dict[str, Any]:
    """Rename an image's original and variants on one pool into its trash, or back.

    Looks in both subtrees (a visibility change may have moved them since the
    job was queued) and is idempotent. The app answers a report that no longer
    matches what it wants with a job the other way.
    """
    node: NodeContext = ctx["node"]
    job_try = int(ctx.get("job_try", 1))
    with job_context(
        job_id=ctx.get("job_id"),
        job=jobs.TRASH_IMAGE,
        request_id=request_id,
        image_uuid=image_uuid,
        pool_id=pool_id,
    ):
        base = await _pool_base(node, pool_id, job_try)
        try:
            async with _holding(ctx, image_uuid, job_try, "another job has its files"):
                found = await asyncio.to_thread(move_to_trash, base, image_uuid, path, trashed)
                report = TrashReport(pool_id=pool_id, trashed=trashed, files=found)
                sending = node.app.report_trash(image_uuid, report, request_id)
                if not await _deliver(sending, job_try):
                    return {"state": "gone"}
        except (UnsafePath, ValueError) as exc:
            log.error("trash move impossible: %s", exc)
            return {"state": "failed", "error": str(exc)}
        log.info("files %s", "trashed" if trashed else "restored", extra={"files": found})
        return {"state": "trashed" if trashed else "restored", "files": found}


@observed_job("purge")
async def purge_image(
    ctx: dict[str, Any],
    image_uuid: str,
    pool_id: int,
    path: str,
    backup: bool,
    request_id: str,
) -> dict[str, Any]:
    """Delete an image's files on one pool for good, trashed or not, and with ``backup``
    the original's object in the pool's S3 bucket; then tell the app, which deletes
    the rows. Idempotent; an unreachable store or app is retried with backoff."""
    node: NodeContext = ctx["node"]
    job_try = int(ctx.get("job_try", 1))
    with job_context(
        job_id=ctx.get("job_id"),
        job=jobs.PURGE_IMAGE,
        request_id=request_id,
        image_uuid=image_uuid,
        pool_id=pool_id,
    ):
        base = await _pool_base(node, pool_id, job_try)
        try:
            async with _holding(ctx, image_uuid, job_try, "another job has its files"):
                removed, size = await asyncio.to_thread(purge_files, base, image_uuid, path)
                backup_deleted = backup and await _delete_backup(node, pool_id, path, job_try)
                report = PurgeReport(
                    pool_id=pool_id, removed=removed, bytes=size, backup_deleted=backup_deleted
                )
                if not await _deliver(
                    node.app.report_purged(image_uuid, report, request_id), job_try
                ):
                    return {"state": "gone", "removed": removed}
        except (UnsafePath, ValueError) as exc:
            log.error("purge impossible: %s", exc)
            return {"state": "failed", "error": str(exc)}
        log.info("purged", extra={"files": removed, "bytes": size, "backup": backup_deleted})
        return {"state": "purged", "removed": removed, "bytes": size, "backup": backup_deleted}


async def _delete_backup(node: NodeContext, pool_id: int, path: str, job_try: int) -> bool:
    try:
        pool = await pool_info(node, pool_id)
        if not pool.backup_bucket:
            return False
        key = object_key(pool.backup_prefix, path)
        client = client_for(node.settings)
        await asyncio.to_thread(delete_original, client, pool.backup_bucket, key)
    except (BackupUnavailable, PoolMapUnavailable) as exc:
        log.warning("backup not deleted (%s); try %d again soon", exc, job_try)
        raise Retry(defer=backoff(job_try)) from exc
    return True


def _limits(node: NodeContext) -> ImageLimits:
    """The operator's pixel and frame limits as the app last sent them."""
    current = node.pools.current
    if current is None:
        return node.limits
    return ImageLimits(max_pixels=current.limits.max_pixels, max_frames=current.limits.max_frames)


@observed_job("ping")
async def ping(ctx: dict[str, Any]) -> dict[str, Any]:
    """Answer with the node id and the time the job started.

    Proves end to end that a lane picks up work (``pixelfox worker --check
    --ping``); bench/job_latency.py measures pickup latency with it.
    """
    node: NodeContext = ctx["node"]
    return {"node_id": node.settings.node_id, "started": time.time()}


@observed_job("sweep_temp_files")
async def sweep_temp_files_job(ctx: dict[str, Any]) -> int:
    """Cron: remove temporary variant files that crashed jobs left in this node's pools."""
    node: NodeContext = ctx["node"]
    try:
        pool_map = node.pools.current or await node.pools.refresh()
    except PoolMapUnavailable as exc:
        log.warning("temp sweep skipped: %s", exc)
        return 0
    removed = 0
    for pool in pool_map.pools.values():
        removed += await asyncio.to_thread(
            sweep_temp_files, Path(pool.base_path), STALE_TEMP_SECONDS
        )
    if removed:
        log.info("removed %d stale temporary files", removed)
    return removed
