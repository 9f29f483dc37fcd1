"""Reading (and repairing) arq's queues in Redis for the admin's queue screen.

arq keeps a queue as a sorted set of job ids (score = when the job may run),
each job's definition under ``arq:job:<id>``, a running job's marker under
``arq:in-progress:<id>`` and a finished job's result under
``arq:result:<id>`` (for ``keep_result`` seconds). The job, marker and result
keys are global, not per queue, so failed jobs are found by scanning the
results and keeping those whose queue is ours. Results are deserialised with
arq's own (pickle) deserialiser, exactly as arq's workers and clients do:
Redis is trusted here as it is by every worker.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

from arq.connections import ArqRedis
from arq.constants import health_check_key_suffix, in_progress_key_prefix, result_key_prefix
from arq.jobs import DeserializationError, JobResult, deserialize_result
from redis.asyncio import Redis

from pixelfox_protocol.keys import RedisKeys

# Bounds that keep the screen fast on a busy Redis.
RUNNING_SCAN_LIMIT = 500
RESULT_SCAN_LIMIT = 20_000
FAILED_SHOWN = 50


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
    finished_at: datetime


@dataclass
class QueueStats:
    ref: QueueRef
    queued: int = 0
    deferred: int = 0
    running: int = 0
    worker: str | None = None
    failed: list[FailedJob] = field(default_factory=list)

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


async def _failed_results(redis: Redis, queue_names: set[str]) -> dict[str, list[JobResult]]:
    found: dict[str, list[JobResult]] = {name: [] for name in queue_names}
    batch: list[bytes] = []
    seen = 0

    async def flush() -> None:
        if not batch:
            return
        for raw in await redis.mget(batch):
            if raw is None:
                continue
            try:
                result = deserialize_result(raw)
            except DeserializationError:
                continue
            if not result.success and result.queue_name in found:
                found[result.queue_name].append(result)
        batch.clear()

    async for key in redis.scan_iter(f"{result_key_prefix}*", count=1000):
        batch.append(key)
        seen += 1
        if len(batch) >= 500:
            await flush()
        if seen >= RESULT_SCAN_LIMIT:
            break
    await flush()
    return found


def _failed_job(result: JobResult) -> FailedJob:
    args = ", ".join(
        [repr(a) for a in result.args] + [f"{k}={v!r}" for k, v in result.kwargs.items()]
    )
    return FailedJob(
        job_id=result.job_id or "",
        function=result.function,
        args=args[:200],
        error=f"{type(result.result).__name__}: {result.result}"[:500],
        tries=result.job_try,
        finished_at=result.finish_time,
    )


async def queue_stats(redis: Redis, refs: list[QueueRef]) -> list[QueueStats]:
    """Depth, deferred, running, worker health and failed jobs of each queue."""
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
        stat.queued = max(0, int(ready) - stat.running)
        stat.deferred = int(deferred)
        stat.worker = health.decode(errors="replace") if health else None
    failed = await _failed_results(redis, {r.name for r in refs})
    for stat in stats:
        jobs = sorted(failed[stat.ref.name], key=lambda r: r.finish_time, reverse=True)
        stat.failed = [_failed_job(r) for r in jobs[:FAILED_SHOWN]]
    return stats


async def retry_failed(redis: Redis, queue_name: str, job_id: str) -> bool:
    """Enqueue a failed job again, same function, arguments and id; False if it is not failed."""
    raw = await redis.get(result_key_prefix + job_id)
    if raw is None:
        return False
    try:
        result = deserialize_result(raw)
    except DeserializationError:
        return False
    if result.success or result.queue_name != queue_name:
        return False
    # arq refuses an id whose result still exists: the result goes, the job comes back.
    await redis.delete(result_key_prefix + job_id)
    arq = ArqRedis(connection_pool=redis.connection_pool)
    job = await arq.enqueue_job(
        result.function, *result.args, _job_id=job_id, _queue_name=queue_name, **result.kwargs
    )
    return job is not None


async def clear_failed(redis: Redis, queue_name: str) -> int:
    """Forget every failed job of a queue; returns how many."""
    failed = (await _failed_results(redis, {queue_name}))[queue_name]
    if failed:
        await redis.delete(*[result_key_prefix + (r.job_id or "") for r in failed])
    return len(failed)
