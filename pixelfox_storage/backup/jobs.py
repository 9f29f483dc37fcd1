"""The node worker's backup job, on the node's background lane.

The app enqueues ``backup_original`` (``pixelfox_protocol.jobs.BackupOriginal``)
with the job id ``RedisKeys.backup_job`` when an upload is completed on a pool
that has a backup bucket (``pixelfox_app.nodequeue.enqueue_backup``).
The seed's "S3-Backup bleibt unverändert asynchron": a fresh upload's answer
and its variants never wait for the bucket.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arq import Retry

from pixelfox_common.logs import job_context
from pixelfox_common.metrics import observed_job
from pixelfox_protocol import jobs, layout, links
from pixelfox_protocol.internal import BackupReport, PoolInfo

from ..appapi import AppRefused, AppUnavailable, ImageGone
from ..pools import PoolMapUnavailable
from .store import BackupMismatch, BackupUnavailable, client_for, object_key, put_original

if TYPE_CHECKING:  # the worker's lanes import this module
    from ..node_jobs.context import NodeContext

log = logging.getLogger(__name__)

# Retries wait 1, 2, 4 … seconds, capped at 5 minutes (as the worker's processing job).
BACKOFF_BASE = 1.0
BACKOFF_MAX = 300.0


def backoff(job_try: int) -> float:
    """Seconds to wait before try ``job_try + 1``."""
    return float(min(BACKOFF_BASE * 2 ** max(job_try - 1, 0), BACKOFF_MAX))


async def pool_info(node: NodeContext, pool_id: int) -> PoolInfo:
    """This node's pool, asking the app again when its map shows no backup bucket.

    The app enqueues a backup only for a pool with a bucket, so a map without
    one is older than the operator's change (the worker does not refresh on
    a timer). Raises UnknownPool or PoolMapUnavailable.
    """
    await node.pools.base_path(pool_id)
    assert node.pools.current is not None
    pool = node.pools.current.pools[pool_id]
    if not pool.backup_bucket and node.pools.current.source != "override":
        pool = (await node.pools.refresh()).pools.get(pool_id, pool)
    return pool


@observed_job("backup")
async def backup_original(
    ctx: dict[str, Any],
    image_uuid: str,
    pool_id: int,
    path: str,
    sha256: str,
    request_id: str,
) -> dict[str, Any]:
    """Copy one original to its pool's bucket, check it by SHA-256, and tell the app.

    Idempotent: an object already holding the same hash is not uploaded again.
    A missing or damaged original is logged and not retried (a retry cannot
    mend it; ``pixelfox restore`` can); an unreachable store or app is retried
    with backoff.
    """
    node: NodeContext = ctx["node"]
    job_try = int(ctx.get("job_try", 1))
    with job_context(
        job_id=ctx.get("job_id"),
        job=jobs.BACKUP_ORIGINAL,
        request_id=request_id,
        image_uuid=image_uuid,
    ):
        try:
            pool = await pool_info(node, pool_id)
        except PoolMapUnavailable as exc:
            log.warning("pool map unavailable, retrying: %s", exc)
            raise Retry(defer=backoff(job_try)) from exc
        if not pool.backup_bucket:
            log.info("pool %s has no backup bucket; nothing to do", pool_id)
            return {"state": "no-bucket"}
        try:
            # The image may have changed visibility since the job was queued.
            base = Path(pool.base_path)
            original = links.resolve_file(base, links.file_now(base, path))
        except layout.UnsafePath:
            log.error("refusing to back up an unsafe path %r", path)
            return {"state": "bad-path"}
        key = object_key(pool.backup_prefix, path)
        client = client_for(node.settings)
        try:
            stored, uploaded = await asyncio.to_thread(
                put_original, client, original, pool.backup_bucket, key, sha256
            )
        except FileNotFoundError:
            log.error("original %s is missing; not backed up", path)
            return {"state": "missing"}
        except BackupMismatch as exc:
            log.error("not backed up: %s", exc)
            return {"state": "mismatch"}
        except BackupUnavailable as exc:
            defer = backoff(job_try)
            log.warning("backup store unavailable (%s); try %d again in %.0fs", exc, job_try, defer)
            raise Retry(defer=defer) from exc

        report = BackupReport(bucket=stored.bucket, key=stored.key, sha256=sha256, size=stored.size)
        try:
            await node.app.report_backup(image_uuid, report, request_id)
        except AppUnavailable as exc:
            defer = backoff(job_try)
            log.warning("backup report not delivered (%s); again in %.0fs", exc, defer)
            raise Retry(defer=defer) from exc
        except ImageGone:
            log.info("the app no longer knows this image; its backup stays in the bucket")
            return {"state": "gone", "key": key}
        except AppRefused as exc:
            log.error("the app refused the backup report: %s", exc)
            return {"state": "refused", "key": key}
        log.info("backed up", extra={"key": key, "uploaded": uploaded, "bytes": stored.size})
        return {"state": "backed-up", "key": key, "uploaded": uploaded}
