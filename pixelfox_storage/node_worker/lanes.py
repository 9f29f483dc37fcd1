"""arq settings of a node's two lanes.

Each node has two queues (``RedisKeys.node_queue`` and
``node_background_queue``). An arq ``Worker`` reads exactly one queue, so a
node runs one ``Worker`` per lane, each with its own ``max_jobs``: however
long the background queue gets, the fresh lane's poll loop and job slots are
its own, and a fresh upload waits only for other fresh uploads. Both run in one
process by default (``pixelfox worker --node s01``), sharing the HTTP client
and pool map; ``--lane`` runs one lane per process instead.

Tuning:

- ``poll_delay`` 50 ms on both lanes. arq's 0.5 s default adds ~0.3 s to
  every upload on average (bench/job_latency.py). It also caps a lane at
  ``max_jobs / poll_delay`` jobs per second when jobs are short, because a
  worker only starts new jobs when it polls: 2 jobs/s on a one-slot
  background lane at 0.5 s, 20/s at 50 ms. Each poll is one ZRANGEBYSCORE.
- ``max_jobs``: one fresh job per CPU (libvips runs one thread per image, see
  ``processing.pipeline``) and a single background job, which can only ever
  take one core from fresh work.
- ``job_timeout`` 120 s for processing (a 24 MP set takes about a second) and
  10 minutes for background work such as moving large files.
- ``health_check_interval`` 10 s instead of an hour, so ``--check`` fails
  within seconds of a dead worker.
- Cron jobs carry the node's queue name (``jobs.cron_name``): arq derives a
  cron job's id from its name alone, and two nodes with the same cron name
  would suppress each other.

Every function is registered under its name in ``pixelfox_protocol.jobs``, and
jobs and results are JSON (``jobs.SERIALIZERS``): a pickled job on a lane is
refused and logged, never run, and the lane goes on with the next one.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, cast

from arq import cron, func
from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix

from pixelfox_common import tls
from pixelfox_protocol import jobs
from pixelfox_protocol.keys import RedisKeys

from ..backup.jobs import backup_original
from ..config import StorageSettings
from ..moves.batch import move_batch
from ..moves.jobs import MAX_TRIES as MOVE_MAX_TRIES
from ..moves.jobs import move_image
from ..moves.replica import replicate_image
from ..node_jobs.context import NodeContext
from ..scrub.jobs import scrub_pools_job
from .jobs import (
    MAX_TRIES,
    change_visibility,
    ping,
    process_image,
    purge_image,
    sweep_temp_files_job,
    trash_image,
)

LANES = ("fresh", "background")
HEALTH_CHECK_INTERVAL = 10
POLL_DELAY = 0.05
KEEP_RESULT = 3600

# Job functions of each lane, by their contract names.
# (cast: arq's WorkerCoroutine type wants a Coroutine, the metrics wrapper says Awaitable.)
_PROCESS = func(cast(Any, process_image), name=jobs.PROCESS_IMAGE, max_tries=MAX_TRIES)
_PING = func(cast(Any, ping), name=jobs.PING)
# A visibility change is a few renames, and its owner waits for it: the fresh lane.
FRESH_FUNCTIONS: list[Any] = [
    _PROCESS,
    func(cast(Any, change_visibility), name=jobs.CHANGE_VISIBILITY, max_tries=MAX_TRIES),
    # A delete must stop the image's URLs within seconds: a few renames, like the above.
    func(cast(Any, trash_image), name=jobs.TRASH_IMAGE, max_tries=MAX_TRIES),
    _PING,
]
BACKGROUND_FUNCTIONS: list[Any] = [
    _PROCESS,  # backfills and restores
    _PING,
    # S3 cold backup (pixelfox_storage.backup) and moves between pools (.move).
    func(cast(Any, backup_original), name=jobs.BACKUP_ORIGINAL, max_tries=MAX_TRIES),
    func(cast(Any, move_image), name=jobs.MOVE_IMAGE, max_tries=MOVE_MAX_TRIES),
    func(cast(Any, move_batch), name=jobs.MOVE_BATCH, max_tries=MOVE_MAX_TRIES),
    # The trash's purge: files, the S3 backup object (pixelfox_app.control_worker.purge).
    func(cast(Any, purge_image), name=jobs.PURGE_IMAGE, max_tries=MAX_TRIES),
    # Replicas of fresh uploads and repairs (pixelfox_storage.moves.replica).
    func(cast(Any, replicate_image), name=jobs.REPLICATE_IMAGE, max_tries=MOVE_MAX_TRIES),
]


def queue_name(settings: StorageSettings, lane: str) -> str:
    keys = RedisKeys(settings.redis_prefix)
    if lane == "fresh":
        return keys.node_queue(settings.node_id)
    if lane == "background":
        return keys.node_background_queue(settings.node_id)
    raise ValueError(f"unknown lane {lane!r}; one of {', '.join(LANES)}")


def node_worker_settings(settings: StorageSettings, lane: str) -> dict[str, Any]:
    """Keyword arguments of ``arq.Worker`` for one lane of this node."""
    queue = queue_name(settings, lane)
    common: dict[str, Any] = {
        **jobs.SERIALIZERS,
        "queue_name": queue,
        "redis_settings": tls.arq_settings(settings.redis_url, settings.ca_file),
        "on_startup": _startup(settings, queue),
        "on_shutdown": _shutdown,
        "keep_result": KEEP_RESULT,
        "max_tries": MAX_TRIES,
        "health_check_interval": HEALTH_CHECK_INTERVAL,
    }
    if lane == "fresh":
        return {
            **common,
            "functions": FRESH_FUNCTIONS,
            "poll_delay": POLL_DELAY,
            "max_jobs": os.cpu_count() or 1,
            "job_timeout": 120,
        }
    sweep = cron(
        cast(Any, sweep_temp_files_job),
        name=jobs.cron_name(queue, jobs.SWEEP_TEMP_FILES),
        minute=set(range(0, 60, 10)),
        run_at_startup=True,
        timeout=300,
    )
    # The scheduled scrub's slices (pixelfox_storage.scrub.jobs), off the sweep's minutes.
    scrub = cron(
        cast(Any, scrub_pools_job),
        name=jobs.cron_name(queue, jobs.SCRUB_POOLS),
        minute=set(range(5, 60, 10)),
        timeout=settings.scrub_slice_seconds + 120,
    )
    return {
        **common,
        "functions": BACKGROUND_FUNCTIONS,
        "cron_jobs": [sweep, scrub],
        "poll_delay": POLL_DELAY,
        "max_jobs": 1,
        "job_timeout": 600,
    }


def _startup(settings: StorageSettings, queue: str) -> Any:
    async def startup(ctx: dict[str, Any]) -> None:
        if "node" not in ctx:
            ctx["node"] = NodeContext.open(settings)
            ctx["owns_node"] = True
        await release_orphans(ctx["redis"], queue)

    return startup


async def _shutdown(ctx: dict[str, Any]) -> None:
    if ctx.get("owns_node"):
        await ctx["node"].aclose()


async def release_orphans(redis: ArqRedis, queue: str) -> int:
    """Let jobs that a killed predecessor of this worker was running start again now.

    arq marks a running job "in progress" for ``job_timeout + 10`` seconds and no
    worker takes it meanwhile; after a crash that would hold an upload's variants
    back by two minutes. Only one worker reads a lane of a node, so at start-up
    every such mark on this lane's queue belongs to a process that is gone.
    """
    job_ids: Sequence[bytes] = await redis.zrange(queue, 0, -1)
    released = 0
    for start in range(0, len(job_ids), 500):
        chunk = job_ids[start : start + 500]
        released += int(await redis.delete(*(in_progress_key_prefix + j.decode() for j in chunk)))
    return released
