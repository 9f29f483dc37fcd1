"""The app's one door onto the queues: every job the app enqueues goes through here.

Onto a node's lanes: processing of a fresh upload (and its requeue by the
sweeper), the S3 backup, a visibility change, the images of a move, the
replicas of an image (``copies``), moving an image into the trash and back,
and its purge; onto
the control queue: the move planner's batches. Names and arguments come from
``pixelfox_protocol.jobs``, job ids from ``RedisKeys``, and the client that
carries them (:func:`connect`) writes JSON, never pickle.

Job ids are deterministic where a job must not run twice; arq then refuses a
second enqueue of a live job. A finished job's kept result (or a job left on
another node's lane) would make arq refuse the id for good, so a job that is
put back on purpose clears them first (``again=True``).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import DeserializationError, Job, JobStatus

from pixelfox_common import tls
from pixelfox_common.logs import new_request_id
from pixelfox_protocol import jobs
from pixelfox_protocol.keys import RedisKeys

from .models import Image, ImageCopy, StoragePool, Visibility
from .nodes import node_of

log = logging.getLogger(__name__)

_ALIVE = (JobStatus.queued, JobStatus.deferred, JobStatus.in_progress)


def connect(redis_url: str, ca_file: str | None = None) -> ArqRedis:
    """The app's Redis client: plain commands, and arq jobs in JSON (rediss://: verified TLS)."""
    redis = ArqRedis.from_url(redis_url, **tls.redis_options(redis_url, ca_file))
    # from_url hands its keyword arguments to the connection pool, not the client.
    redis.job_serializer = jobs.dumps
    redis.job_deserializer = jobs.loads
    return redis


def job(redis: ArqRedis, job_id: str, queue: str) -> Job:
    """arq's handle of a job, reading its record and result as JSON."""
    return Job(job_id, redis, _queue_name=queue, _deserializer=jobs.loads)


async def enqueue(
    redis: ArqRedis, args: jobs.JobArgs, *, queue: str, job_id: str, again: bool = False
) -> bool:
    """Put ``args``' job on ``queue``; False when arq refused the id (the job exists)."""
    return await _put(redis, args.NAME, args.to_json(), queue, job_id, again)


async def enqueue_again(
    redis: ArqRedis, function: str, kwargs: dict[str, Any], *, queue: str, job_id: str
) -> bool:
    """A failed job once more, as its result recorded it (the admin's retry).

    Only a job of the contract with arguments of its type comes back; anything
    else raises ``jobs.UnreadableJob``.
    """
    checked = jobs.check(function, (), kwargs)
    return await _put(redis, function, checked, queue, job_id, True)


async def _put(
    redis: ArqRedis, function: str, kwargs: dict[str, Any], queue: str, job_id: str, again: bool
) -> bool:
    if again:
        await redis.delete(result_key_prefix + job_id, job_key_prefix + job_id)
    enqueued = await redis.enqueue_job(function, _job_id=job_id, _queue_name=queue, **kwargs)
    return enqueued is not None


async def enqueue_processing(
    redis: ArqRedis, keys: RedisKeys, image: Image, pool: StoragePool, request_id: str = ""
) -> bool:
    """Variant processing on the fresh lane of the node that holds the file; False if queued."""
    args = jobs.ProcessImage(
        image_uuid=str(image.uuid), pool_id=pool.id, path=image.path, request_id=request_id
    )
    queue = keys.node_queue(node_of(pool))
    return await enqueue(
        redis, args, queue=queue, job_id=keys.process_job(node_of(pool), str(image.uuid))
    )


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
    be on its way) or ``requeued``. The job id stays the image's, so a
    concurrent enqueue by the app or another sweep cannot add a second job.
    """
    job_id = keys.process_job(node_of(pool), str(image.uuid))
    queue = keys.node_queue(node_of(pool))
    handle = job(redis, job_id, queue)
    status = await handle.status()
    if status in _ALIVE:
        return "waiting"
    if status == JobStatus.complete:
        result = await _result_or_none(handle)
        if result is not None and result.finish_time > now - settle:
            return "settling"
    request_id = new_request_id()
    args = jobs.ProcessImage(
        image_uuid=str(image.uuid), pool_id=pool.id, path=image.path, request_id=request_id
    )
    # Its kept result (or a record left by a killed run) would refuse the id.
    if not await enqueue(redis, args, queue=queue, job_id=job_id, again=True):
        return "waiting"  # the app enqueued it a moment ago
    log.info(
        "requeued stuck processing image=%s node=%s request_id=%s",
        image.uuid,
        node_of(pool),
        request_id,
    )
    return "requeued"


async def _result_or_none(handle: Job) -> Any:
    try:
        return await handle.result_info()
    except DeserializationError:  # not plain JSON: no result of ours (logged by jobs.loads)
        return None


async def enqueue_backup(
    redis: ArqRedis, keys: RedisKeys, image: Image, pool: StoragePool, request_id: str = ""
) -> bool:
    """The backup of an image's original on its node's background lane.

    False when the pool has no backup bucket, or the job is already queued
    (the image's backup job id makes a second enqueue a no-op).
    """
    if not pool.backup_bucket.strip():
        return False
    args = jobs.BackupOriginal(
        image_uuid=str(image.uuid),
        pool_id=pool.id,
        path=image.path,
        sha256=image.sha256,
        request_id=request_id,
    )
    queue = keys.node_background_queue(node_of(pool))
    return await enqueue(
        redis, args, queue=queue, job_id=keys.backup_job(node_of(pool), str(image.uuid))
    )


async def enqueue_visibility(
    redis: ArqRedis, keys: RedisKeys, image: Image, request_id: str = ""
) -> bool:
    """The node jobs that move ``image``'s files towards its ``visibility_target``.

    One on the primary's pool (``image`` has its pool loaded), whose report
    switches the image, and one on every other copy's pool, so no replica keeps
    a private image's files in the public subtree. False when the primary's job
    is already queued or running. A finished one's kept result is cleared first,
    as the same change may be asked for again within the hour.
    """
    private = image.visibility_target == Visibility.PRIVATE
    replicas = ImageCopy.filter(image_id=image.id).exclude(pool_id=image.pool.id)
    for copy in await replicas.select_related("pool"):
        await _enqueue_visibility_on(redis, keys, image, copy.pool, request_id, private)
    return await _enqueue_visibility_on(redis, keys, image, image.pool, request_id, private)


async def enqueue_subtree(
    redis: ArqRedis, keys: RedisKeys, image: Image, pool: StoragePool, request_id: str = ""
) -> bool:
    """A job that moves ``image``'s files on ``pool`` into the subtree its row wants.

    For a replica whose push wrote files after the visibility job of that pool
    had run (a grant minted before the change): no copy keeps a private image's
    files in the public subtree. The wanted subtree is the change's target while
    one runs, else the image's visibility.
    """
    wanted = image.visibility_target or image.visibility
    return await _enqueue_visibility_on(
        redis, keys, image, pool, request_id, wanted == Visibility.PRIVATE
    )


async def _enqueue_visibility_on(
    redis: ArqRedis,
    keys: RedisKeys,
    image: Image,
    pool: StoragePool,
    request_id: str,
    private: bool,
) -> bool:
    job_id = keys.visibility_job(node_of(pool), str(image.uuid), private)
    queue = keys.node_queue(node_of(pool))
    if await job(redis, job_id, queue).status() in _ALIVE:
        return False
    await redis.delete(result_key_prefix + job_id)
    args = jobs.ChangeVisibility(
        image_uuid=str(image.uuid),
        pool_id=pool.id,
        path=image.path,
        private=private,
        request_id=request_id,
    )
    return await enqueue(redis, args, queue=queue, job_id=job_id)


async def enqueue_move_batch(
    redis: ArqRedis,
    keys: RedisKeys,
    move_id: int,
    image_ids: list[int],
    source: StoragePool,
    request_id: str,
    *,
    again: bool = False,
) -> bool:
    """A batch of a move's images, on the source node's background lane; False if queued.

    ``again``: the batch's images were parked; an earlier job's kept result would
    refuse the id.
    """
    args = jobs.MoveBatch(
        move_id=move_id, image_ids=image_ids, source_pool_id=source.id, request_id=request_id
    )
    queue = keys.node_background_queue(node_of(source))
    job_id = keys.move_batch_job(node_of(source), move_id, image_ids[0])
    return await enqueue(redis, args, queue=queue, job_id=job_id, again=again)


async def enqueue_move_handover(
    redis: ArqRedis, keys: RedisKeys, move_id: int, image_id: int, source: StoragePool
) -> bool:
    """An image of a move whose job ran on a node that no longer holds ``source``.

    Onto the lane of the node that holds it now, under an id of its own (the
    first job's id is still taken while it reports); False if already queued.
    """
    holder = node_of(source)
    args = jobs.MoveImage(
        move_id=move_id, image_id=image_id, source_pool_id=source.id, request_id=new_request_id()
    )
    job_id = keys.move_handover_job(move_id, image_id, holder)
    return await enqueue(redis, args, queue=keys.node_background_queue(holder), job_id=job_id)


async def enqueue_planner(
    redis: ArqRedis, keys: RedisKeys, move_id: int, cursor: int, *, again: bool = False
) -> bool:
    """The move planner's batch after ``cursor`` on the control queue (planned once).

    ``again`` clears an earlier run's result (a resumed move plans on).
    """
    args = jobs.PlanMove(move_id=move_id, cursor=cursor)
    job_id = keys.move_plan_job(move_id, cursor)
    return await enqueue(redis, args, queue=keys.control_queue, job_id=job_id, again=again)


async def job_alive(redis: ArqRedis, job_id: str, queue: str) -> bool:
    """Whether the job is queued, deferred or running."""
    return await job(redis, job_id, queue).status() in _ALIVE


async def queue_control_cron(
    redis: ArqRedis, keys: RedisKeys, name: str, marker: str, *, defer: float
) -> bool:
    """One extra run of the control worker's cron ``name`` (no arguments) in ``defer``
    seconds, unless one is still waiting to start: ``marker`` lives until then, and a run
    that has not started yet reads the rows after whatever asked for this one. False
    when one is waiting.

    Each run has a job id of its own: arq keeps a cron job's in-progress key for a
    minute after it ended (so no other worker runs that cron again), which would hold
    back a second run under the same id.
    """
    if not await redis.set(marker, "1", nx=True, px=max(1, int(defer * 1000))):
        return False
    queue = keys.control_queue
    job_id = f"{marker}:{time.time_ns()}"
    enqueued = await redis.enqueue_job(
        jobs.cron_name(queue, name), _job_id=job_id, _queue_name=queue, _defer_by=defer
    )
    return enqueued is not None


async def _enqueue_unless_alive(
    redis: ArqRedis, args: jobs.JobArgs, *, queue: str, job_id: str
) -> bool:
    """``args``' job unless one under ``job_id`` is queued or running; an ended one's
    kept result is cleared first (the same job may be wanted again within the hour)."""
    if await job(redis, job_id, queue).status() in _ALIVE:
        return False
    return await enqueue(redis, args, queue=queue, job_id=job_id, again=True)


async def enqueue_trash(
    redis: ArqRedis,
    keys: RedisKeys,
    image: Image,
    pool: StoragePool,
    *,
    trashed: bool,
    request_id: str = "",
) -> bool:
    """Rename ``image``'s files on ``pool`` into its trash (or back) on the node's fresh lane.

    The owner waits for it (its URLs must stop at once), so the fresh lane.
    False when the same job is already queued or running.
    """
    args = jobs.TrashImage(
        image_uuid=str(image.uuid),
        pool_id=pool.id,
        path=image.path,
        trashed=trashed,
        request_id=request_id,
    )
    node = node_of(pool)
    job_id = keys.trash_job(node, str(image.uuid), trashed)
    return await _enqueue_unless_alive(redis, args, queue=keys.node_queue(node), job_id=job_id)


async def enqueue_purge(
    redis: ArqRedis,
    keys: RedisKeys,
    image: Image,
    pool: StoragePool,
    *,
    backup: bool,
    request_id: str = "",
) -> bool:
    """Delete ``image``'s files on ``pool`` for good, on the node's background lane.

    ``backup``: this pool holds the original, so its S3 object goes too. A node
    that is down finds the job in its queue when it comes back. False when the
    job is already queued or running.
    """
    args = jobs.PurgeImage(
        image_uuid=str(image.uuid),
        pool_id=pool.id,
        path=image.path,
        backup=backup and bool(pool.backup_bucket.strip()),
        request_id=request_id,
    )
    node = node_of(pool)
    job_id = keys.purge_job(node, str(image.uuid))
    queue = keys.node_background_queue(node)
    return await _enqueue_unless_alive(redis, args, queue=queue, job_id=job_id)


async def enqueue_replica(
    redis: ArqRedis,
    keys: RedisKeys,
    copy_id: int,
    image: Image,
    source: StoragePool,
    request_id: str = "",
    *,
    again: bool = False,
) -> bool:
    """Push one pending copy from ``source``, on its node's background lane; False if queued.

    ``again``: a stuck copy's earlier job ended; its kept result would refuse the id.
    """
    args = jobs.ReplicateImage(
        copy_id=copy_id,
        image_uuid=str(image.uuid),
        source_pool_id=source.id,
        request_id=request_id,
    )
    queue = keys.node_background_queue(node_of(source))
    job_id = keys.replica_job(node_of(source), copy_id)
    if again and await job(redis, job_id, queue).status() in _ALIVE:
        return False
    return await enqueue(redis, args, queue=queue, job_id=job_id, again=again)
