"""Queueing an image's processing on its node again, without ever running it twice."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import Job, JobStatus

from pixelfox_common.logs import new_request_id
from pixelfox_protocol.keys import RedisKeys, process_job_id

from ..models import Image, StoragePool
from ..nodes import node_of

log = logging.getLogger(__name__)

PROCESS_JOB = "process_image"


async def requeue_processing(
    redis: ArqRedis,
    keys: RedisKeys,
    image: Image,
    pool: StoragePool,
    *,
    settle: timedelta,
    now: datetime,
) -> str:
    """Put an image's ``process_image`` job back on its node's fresh lane if none is alive.

    Returns what happened: ``waiting`` (a job is queued, deferred for a retry or
    running: left alone, so the image is never processed twice at once),
    ``settling`` (a job finished less than ``settle`` ago; its report may still
    be on its way) or ``requeued``. The job id stays ``process:<uuid>``, so a
    concurrent enqueue by the app or another sweep cannot add a second job.
    """
    job_id = process_job_id(str(image.uuid))
    queue = keys.node_queue(node_of(pool))
    job = Job(job_id, redis, _queue_name=queue)
    status = await job.status()
    if status in (JobStatus.queued, JobStatus.deferred, JobStatus.in_progress):
        return "waiting"
    if status == JobStatus.complete:
        result = await job.result_info()
        if result is not None and result.finish_time > now - settle:
            return "settling"
    # A finished job's result, or a job left queued on another node's lane (the
    # image moved meanwhile), would make arq refuse the same id: clear both.
    await redis.delete(result_key_prefix + job_id, job_key_prefix + job_id)
    request_id = new_request_id()
    enqueued = await redis.enqueue_job(
        PROCESS_JOB,
        str(image.uuid),
        pool.id,
        image.path,
        request_id,
        _job_id=job_id,
        _queue_name=queue,
    )
    if enqueued is None:  # the app enqueued it a moment ago
        return "waiting"
    log.info(
        "requeued stuck processing image=%s node=%s request_id=%s",
        image.uuid,
        node_of(pool),
        request_id,
    )
    return "requeued"
