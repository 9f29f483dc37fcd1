"""The node's one door onto queues: the few jobs a node enqueues itself.

A move job handed over to the node that holds the source pool now, and the
variants a restore re-makes on this node's background lane. Names and
arguments come from ``pixelfox_protocol.jobs``; the client writes JSON, never
pickle (a worker's own ``ctx["redis"]`` does too: the lanes pass the same
serializers to arq).
"""

from __future__ import annotations

from arq.connections import ArqRedis, create_pool

from pixelfox_common import tls
from pixelfox_protocol import jobs


async def connect(redis_url: str, ca_file: str | None = None) -> ArqRedis:
    """An arq client outside a worker (``pixelfox restore``); the caller closes it."""
    return await create_pool(tls.arq_settings(redis_url, ca_file), **jobs.SERIALIZERS)


async def enqueue(redis: ArqRedis, args: jobs.JobArgs, *, queue: str, job_id: str) -> bool:
    """Put ``args``' job on ``queue``; False when a job with that id exists already."""
    job = await redis.enqueue_job(args.NAME, _job_id=job_id, _queue_name=queue, **args.to_json())
    return job is not None
