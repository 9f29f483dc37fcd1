"""Job queues: depth, running and failed jobs per queue, with retry and clear."""

from __future__ import annotations

from quart import request

from ...models import StorageNode, StoragePool
from ...nodes import node_of
from ..access import page_admin_required
from ..render import page
from .arq_queues import QueueRef, clear_failed, queue_refs, queue_stats, retry_failed
from .base import arq, blueprint, keys, redis

POLL_SECONDS = 5


async def _refs() -> list[QueueRef]:
    node_ids = [n.node_id for n in await StorageNode.all()]
    node_ids += [node_of(p) for p in await StoragePool.all()]
    return queue_refs(keys(), node_ids)


async def _render(notice: str = ""):
    stats = await queue_stats(redis(), keys(), await _refs())
    return await page(
        "admin/queues/index.html",
        "admin/queues/_queues.html",
        queues=stats,
        notice=notice,
        poll_seconds=POLL_SECONDS,
    )


@blueprint.get("/queues")
@page_admin_required
async def queues_index():
    """Every queue of the installation; its own fragment when htmx polls it."""
    return await _render()


async def _known(queue_name: str) -> bool:
    return any(ref.name == queue_name for ref in await _refs())


@blueprint.post("/queues/retry")
@page_admin_required
async def queue_retry():
    """Put one failed job back on its queue."""
    form = await request.form
    queue, job_id = form.get("queue", ""), form.get("job_id", "")
    ok = await _known(queue) and await retry_failed(arq(), queue, job_id)
    return await _render(
        f"Job {job_id} is queued again." if ok else f"Job {job_id} was not retried."
    )


@blueprint.post("/queues/clear")
@page_admin_required
async def queue_clear():
    """Forget the failed jobs of one queue."""
    queue = (await request.form).get("queue", "")
    count = await clear_failed(redis(), keys(), queue) if await _known(queue) else 0
    return await _render(f"Cleared {count} failed job{'s' if count != 1 else ''}.")
