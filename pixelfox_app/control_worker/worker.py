"""The control worker: arq on ``RedisKeys.control_queue`` with the app's periodic jobs.

Jobs and results are JSON (``pixelfox_protocol.jobs.SERIALIZERS``): a pickled
job in the control queue is refused and logged, never run, and the worker goes on.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from arq import cron, func
from arq.connections import create_pool
from arq.constants import health_check_key_suffix
from arq.worker import create_worker

from pixelfox_common import tls
from pixelfox_protocol import jobs
from pixelfox_protocol.keys import RedisKeys

from ..backups import publish_backup_state
from ..config import AppSettings
from ..copies.repair import check_copies
from ..db import close_db, init_db
from ..moves.planner import plan_move
from ..moves.throttle import enforce_windows
from ..placement.reachability import CHECK_EVERY_SECONDS, check_upload_apis
from ..redis_users import sync_redis_users
from .certificates import check_certificates
from .purge import purge_trash
from .sweeper import sweep_stuck_images

log = logging.getLogger(__name__)

HEALTH_CHECK_INTERVAL = 10
# Job functions others enqueue on the control queue (besides the crons).
CONTROL_FUNCTIONS: list[Any] = [func(plan_move, name=jobs.PLAN_MOVE)]


async def _enforce_move_windows(ctx: dict[str, Any]) -> dict[str, int]:
    """Pause moves outside their time window, resume those it paused once it opens."""
    return await enforce_windows(ctx["redis"], ctx["keys"])


def control_worker_settings(settings: AppSettings) -> dict[str, Any]:
    """Keyword arguments of ``arq.Worker`` for the control worker."""
    keys = RedisKeys(settings.redis_prefix)
    queue = keys.control_queue

    async def startup(ctx: dict[str, Any]) -> None:
        await init_db(settings.effective_database_url)
        ctx["settings"] = settings
        ctx["keys"] = keys

    async def shutdown(ctx: dict[str, Any]) -> None:
        client = ctx.pop("reachability_client", None)
        if client is not None:
            await client.aclose()
        await close_db()

    return {
        "queue_name": queue,
        "redis_settings": tls.arq_settings(settings.redis_url, settings.ca_file),
        **jobs.SERIALIZERS,
        "functions": CONTROL_FUNCTIONS,
        "cron_jobs": [
            cron(
                _enforce_move_windows,
                name=jobs.cron_name(queue, jobs.ENFORCE_MOVE_WINDOWS),
                second=5,
                run_at_startup=True,
                timeout=60,
            ),
            cron(
                sweep_stuck_images,
                name=jobs.cron_name(queue, jobs.SWEEP_STUCK_IMAGES),
                second=0,
                run_at_startup=True,
                timeout=300,
                # What the last sweeps did stays readable (arq:result:<name>:<ms>).
                keep_result=600,
            ),
            # Placement's upload API checks (HEAD upload_api_url, 2 s timeout).
            cron(
                check_upload_apis,
                name=jobs.cron_name(queue, jobs.CHECK_UPLOAD_APIS),
                second=set(range(0, 60, CHECK_EVERY_SECONDS)),
                run_at_startup=True,
                timeout=30,
            ),
            # Images past the trash retention: purged on every pool, S3 and rows.
            cron(
                purge_trash,
                name=jobs.cron_name(queue, jobs.PURGE_TRASH),
                second=45,
                run_at_startup=True,
                timeout=300,
            ),
            # Every node's Redis user, also after a Redis restart without its ACL file.
            cron(
                sync_redis_users,
                name=jobs.cron_name(queue, jobs.SYNC_REDIS_USERS),
                second=30,
                run_at_startup=True,
                timeout=60,
            ),
            # Copies: under-replicated images filled, stuck pushes requeued, lag metrics.
            cron(
                check_copies,
                name=jobs.cron_name(queue, jobs.CHECK_COPIES),
                second=15,
                run_at_startup=True,
                timeout=120,
            ),
            # Expiry of the public hosts' certificates, for the alert.
            cron(
                check_certificates,
                name=jobs.cron_name(queue, jobs.CHECK_CERTIFICATES),
                minute=7,
                second=0,
                run_at_startup=True,
                timeout=120,
            ),
            # The last good database backup's time, for the alert.
            cron(
                publish_backup_state,
                name=jobs.cron_name(queue, jobs.PUBLISH_BACKUP_STATE),
                second=50,
                run_at_startup=True,
                timeout=30,
            ),
        ],
        "on_startup": startup,
        "on_shutdown": shutdown,
        "poll_delay": 0.5,
        "max_jobs": 4,
        "job_timeout": 300,
        "keep_result": 3600,
        "health_check_interval": HEALTH_CHECK_INTERVAL,
    }


async def _run(settings: AppSettings) -> None:
    worker = create_worker(control_worker_settings(settings))
    try:
        await worker.async_run()
    except asyncio.CancelledError:
        # SIGINT/SIGTERM: arq's own handler cancelled the main task.
        pass
    finally:
        await worker.close()


def run_control_worker(settings: AppSettings) -> None:
    """Run until SIGINT/SIGTERM."""
    asyncio.run(_run(settings))


async def _health(settings: AppSettings) -> dict[str, str | None]:
    queue = RedisKeys(settings.redis_prefix).control_queue
    redis = await create_pool(
        tls.arq_settings(settings.redis_url, settings.ca_file), **jobs.SERIALIZERS
    )
    try:
        raw = await redis.get(queue + health_check_key_suffix)
        return {queue: raw.decode() if raw else None}
    finally:
        await redis.aclose()


def check_control_worker(settings: AppSettings) -> dict[str, str | None]:
    """Like ``arq --check``: the control worker recorded its health within ~10 s."""
    return asyncio.run(_health(settings))
