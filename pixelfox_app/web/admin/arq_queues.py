"""Reading (and repairing) arq's queues in Redis for the admin's queue screen.

arq keeps a queue as a sorted set of job ids (score = when the job may run),
each job's definition under ``arq:job:<id>``, a running job's marker under
``arq:in-progress:<id>`` and a finished job's result under
``arq:result:<id>`` (for ``keep_result`` seconds). The job, marker and result
keys are global, not per queue, but every job id of the installation starts
with its prefix (``RedisKeys``), so failed jobs are found by scanning the
installation's own results and keeping those whose queue is shown.

Nothing here unpickles: jobs and results are read as JSON
(``pixelfox_protocol.jobs.loads``). A job whose record is not (a pickled one,
say) is shown as "unreadable job" and can be neither retried nor run; a
worker refuses it the same way and records it failed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

from arq.connections import ArqRedis
from arq.constants import (
    health_check_key_suffix,
    in_progress_key_prefix,
    job_key_prefix,
    result_key_prefix,
)
from arq.jobs import DeserializationError, JobResult, deserialize_result
from redis.asyncio import Redis

from pixelfox_protocol import jobs
from pixelfox_protocol.keys import RedisKeys

from ...nodequeue import enqueue_again

# Bounds that keep the screen fast on a busy Redis.
RUNNING_SCAN_LIMIT = 500
RESULT_SCAN_LIMIT = 20_000
FAILED_SHOWN = 50
UNREADABLE = "unreadable job"


@dataclass(frozen=True)
class QueueRef:
    name: str
    label: str
    lane: str  # "control", "fresh" or "background"


@dataclass(frozen=True)
class FailedJob:
    job_id: str
    function: str
    args: str
    error: str
    tries: int
    finished_at: datetime | None
    readable: bool = True  # False: not a JSON job of the contract; never retried


@dataclass
class QueueStats:
    ref: QueueRef
    queued: int = 0
    deferred: int = 0
    running: int = 0
    worker: str | None = None
    failed: list[FailedJob] = field(default_factory=list)
    # Waiting jobs whose record is not a JSON job (shown so, never run).
    unreadable: list[FailedJob] = field(default_factory=list)

    @property
    def failed_count(self) -> int:
        return len(self.failed)


def queue_refs(keys: RedisKeys, node_ids: list[str]) -> list[QueueRef]:
    """The control queue and both lanes of every node, as keys.py names them."""
    refs = [QueueRef(keys.control_queue, "control", "control")]
    for node_id in sorted(set(node_ids)):
        refs.append(QueueRef(keys.node_queue(node_id), node_id, "fresh"))
        refs.append(QueueRef(keys.node_background_queue(node_id), node_id, "background"))
    return refs


def _read_result(raw: bytes) -> JobResult | None:
    try:
        return deserialize_result(raw, deserializer=jobs.loads)
    except DeserializationError:  # not JSON: nothing we could tell (jobs.loads logged it)
        return None


async def _failed_results(
    redis: Redis, keys: RedisKeys, queue_names: set[str]
) -> dict[str, list[JobResult]]:
    found: dict[str, list[JobResult]] = {name: [] for name in queue_names}
    batch: list[bytes] = []
    seen = 0

    async def flush() -> None:
        if not batch:
            return
        for raw in await redis.mget(batch):
            result = None if raw is None else _read_result(raw)
            if result is not None and not result.success and result.queue_name in found:
                found[result.queue_name].append(result)
        batch.clear()

    async for key in redis.scan_iter(result_key_prefix + keys.job_pattern, count=1000):
        batch.append(key)
        seen += 1
        if len(batch) >= 500:
            await flush()
        if seen >= RESULT_SCAN_LIMIT:
            break
    await flush()
    return found


def _error_of(value: object) -> str:
    if isinstance(value, jobs.JobError):
        return value.describe()
    return f"{type(value).__name__}: {value}"


def _failed_job(result: JobResult) -> FailedJob:
    readable = result.function != jobs.UNKNOWN_FUNCTION
    args = ", ".join(
        [repr(a) for a in result.args] + [f"{k}={v!r}" for k, v in result.kwargs.items()]
    )
    return FailedJob(
        job_id=result.job_id or "",
        function=result.function if readable else UNREADABLE,
        args=args[:200],
        error=_error_of(result.result)[:500],
        tries=result.job_try,
        finished_at=result.finish_time,
        readable=readable,
    )


async def _unreadable_waiting(redis: Redis, job_ids: list[bytes]) -> list[FailedJob]:
    """The waiting jobs among ``job_ids`` whose record is not a JSON job of the contract."""
    if not job_ids:
        return []
    records = await redis.mget([job_key_prefix + j.decode() for j in job_ids])
    found = []
    for job_id, raw in zip(job_ids, records, strict=True):
        if raw is None:
            continue
        try:
            jobs.loads(raw)
        except jobs.UnreadableJob as exc:
            found.append(
                FailedJob(job_id.decode(errors="replace"), UNREADABLE, "", str(exc), 0, None, False)
            )
    return found


async def queue_stats(redis: Redis, keys: RedisKeys, refs: list[QueueRef]) -> list[QueueStats]:
    """Depth, deferred, running, worker health, failed and unreadable jobs of each queue."""
    now_ms = int(time.time() * 1000)
    stats = [QueueStats(ref) for ref in refs]
    async with redis.pipeline(transaction=False) as pipe:
        for ref in refs:
            pipe.zcount(ref.name, "-inf", now_ms)
            pipe.zcount(ref.name, f"({now_ms}", "+inf")
            pipe.zrangebyscore(ref.name, "-inf", now_ms, start=0, num=RUNNING_SCAN_LIMIT)
            pipe.get(ref.name + health_check_key_suffix)
        replies = await pipe.execute()
    for i, stat in enumerate(stats):
        ready, deferred, members, health = replies[4 * i : 4 * i + 4]
        if members:
            flags = await redis.exists(*[in_progress_key_prefix + m.decode() for m in members])
            # EXISTS over many keys returns how many exist: the running jobs among the first ones.
            stat.running = int(flags)
            stat.unreadable = await _unreadable_waiting(redis, members)
        stat.queued = max(0, int(ready) - stat.running)
        stat.deferred = int(deferred)
        stat.worker = health.decode(errors="replace") if health else None
    failed = await _failed_results(redis, keys, {r.name for r in refs})
    for stat in stats:
        jobs = sorted(failed[stat.ref.name], key=lambda r: r.finish_time, reverse=True)
        stat.failed = [_failed_job(r) for r in jobs[:FAILED_SHOWN]]
    return stats


async def retry_failed(redis: ArqRedis, queue_name: str, job_id: str) -> bool:
    """Enqueue a failed job again, same function, arguments and id; False if it is not failed.

    An unreadable job, or one whose arguments are not of its type, is not retried.
    """
    raw = await redis.get(result_key_prefix + job_id)
    result = None if raw is None else _read_result(raw)
    if result is None or result.success or result.queue_name != queue_name:
        return False
    try:
        return await enqueue_again(
            redis, result.function, result.kwargs, queue=queue_name, job_id=job_id
        )
    except jobs.UnreadableJob:
        return False


async def clear_failed(redis: Redis, keys: RedisKeys, queue_name: str) -> int:
    """Forget every failed job of a queue; returns how many."""
    failed = (await _failed_results(redis, keys, {queue_name}))[queue_name]
    if failed:
        await redis.delete(*[result_key_prefix + (r.job_id or "") for r in failed])
    return len(failed)
