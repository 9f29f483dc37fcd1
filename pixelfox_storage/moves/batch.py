"""``move_batch``: a batch of a move's images, on the background lane of the *source* node.

The app's planner enqueues ``move_batch`` (``pixelfox_protocol.jobs.MoveBatch``)
with up to ``MOVE_BATCH_MAX`` image ids under the job id
``RedisKeys.move_batch_job``. The job does for all of them what ``move_image``
does for one (``.jobs``), with one call where that makes one per image:

1. the move's state: paused → every image goes into this node's parked set
   (resume queues them again), cancelled → it ends;
2. one call for every image's ticket (deleted ones are skipped, and an image
   whose visibility is changing fails, as a single job's would);
3. the copies: to a pool of this node by :func:`.batchfiles.copy_batch`
   (parallel, each directory fsynced once, read back and hashed); to another
   node, image by image through the replica pushes' engine (``calls.push_all``,
   a grant per image), a few images at once;
4. one switch for every verified image (one transaction at the app);
5. then the source copies of the switched images are deleted.

A file of an image another job holds (variants being made, a visibility
change), or a target that does not answer, sends the job back with backoff
once the rest is switched; the next run finds those switched (it only deletes
what is left at the source) and moves the others.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from arq import Retry
from arq.connections import ArqRedis

from pixelfox_common.logs import job_context
from pixelfox_common.metrics import observed_job
from pixelfox_protocol import jobs, links
from pixelfox_protocol.internal import (
    MoveBatchItem,
    MoveBatchRequest,
    MoveBatchSwitch,
    MoveGrant,
    MoveGrantRequest,
    MoveOutcome,
    MoveThrottle,
    MoveTicket,
)

from ..appapi import AppAPI, AppError, AppRefused, AppUnavailable
from ..node_jobs.imagelock import ImageBusy, image_lock
from ..pools import PoolMapUnavailable, UnknownPool
from . import batchfiles
from .calls import SOURCE_DAMAGED, Refused, TryLater, push_all
from .jobs import MAX_TRIES, backoff, check_or_park

if TYPE_CHECKING:  # the worker's lanes import this module
    from ..node_jobs.context import NodeContext

log = logging.getLogger(__name__)

# Images pushed to another node at once (each its own grant and requests).
PARALLEL_PUSHES = 4
# Images of a local batch copied and switched together; the sources of one chunk are
# deleted while the next is copied.
PIPELINE_CHUNK = 50
# A throttled batch waits at most this long after its work (the lane's job timeout
# is 10 minutes); slower rates than that are kept by the next batches' waits.
MAX_PACE_SECONDS = 300.0


class _Later(Exception):
    """Some images of the batch could not move now; the job runs again for them."""


@observed_job("move_batch")
async def move_batch(
    ctx: dict[str, Any],
    move_id: int,
    image_ids: list[int],
    source_pool_id: int,
    request_id: str = "",
) -> dict[str, Any]:
    """Copy a batch of images to the move's target, verify, switch them together, delete."""
    node: NodeContext = ctx["node"]
    redis: ArqRedis = ctx["redis"]
    job_try = int(ctx.get("job_try", 1))
    app = node.app
    node_id = node.settings.node_id
    with job_context(
        job_id=ctx.get("job_id"), job=jobs.MOVE_BATCH, request_id=request_id, move_id=move_id
    ):
        state = await check_or_park(redis, node.keys, node_id, move_id, *image_ids)
        if state and state != "running":
            for image_id in image_ids:
                with structlog.contextvars.bound_contextvars(image_id=image_id):
                    log.info("move is %s; image not moved now", state)
            return {"state": state}
        try:
            return await _run(node, redis, move_id, image_ids, ctx.get("job_id"))
        except AppRefused as exc:
            if exc.code == "POOL_NOT_ON_NODE" and exc.details.get("node_id"):
                return await _hand_over(app, move_id, image_ids, str(exc.details["node_id"]))
            for image_id in image_ids:  # a definite no: retrying cannot help
                await _outcome(app, move_id, image_id, str(exc))
            return {"state": "failed", "error": str(exc)}
        except (_Later, TryLater, AppUnavailable, PoolMapUnavailable) as exc:
            if job_try < MAX_TRIES:
                log.warning("try %d: %s; again in %.0fs", job_try, exc, backoff(job_try))
                raise Retry(defer=backoff(job_try)) from exc
            error = f"gave up after {job_try} tries: {exc}"
            for image_id in image_ids:
                await _outcome(app, move_id, image_id, error)
            return {"state": "failed", "error": error}


async def _run(
    node: NodeContext, redis: ArqRedis, move_id: int, image_ids: list[int], job_id: str | None
) -> dict[str, Any]:
    """The batch's tickets, the images' locks, then the move of those held."""
    app = node.app
    batch = await app.move_batch_ticket(move_id, MoveBatchRequest(image_ids=image_ids))
    if batch.state not in ("running", "paused"):
        return {"state": batch.state}
    for refused in batch.refused:
        if refused.code == "NOT_FOUND":
            await _outcome(app, move_id, refused.image_id, "the image was deleted", "skipped")
        else:
            await _outcome(app, move_id, refused.image_id, refused.code)
    async with AsyncExitStack() as locks:
        held, busy = [], 0
        for ticket in batch.tickets:
            # With the job id: a run after a kill takes over the locks its dead self left.
            lock = image_lock(redis, node.keys, node.settings.node_id, ticket.image_uuid, job_id)
            try:
                await locks.enter_async_context(lock)
            except ImageBusy:
                busy += 1
                continue
            held.append(ticket)
        started = time.monotonic()
        result = await _move(node, move_id, held, batch.throttle)
    await _pace(batch.throttle, result, time.monotonic() - started)
    if busy:
        raise _Later(f"{busy} images are busy with another job")
    return result


async def _pace(throttle: MoveThrottle, result: dict[str, Any], took: float) -> None:
    """Let the batch take as long as the move's rates allow for what it moved."""
    needs = [
        result.get("images", 0) / throttle.images_per_second if throttle.images_per_second else 0,
        result.get("bytes", 0) / throttle.bytes_per_second if throttle.bytes_per_second else 0,
    ]
    wait = min(max(needs) - took, MAX_PACE_SECONDS)
    if wait > 0:
        log.info("throttled: the batch waits %.1f s", wait)
        await asyncio.sleep(wait)


async def _outcome(
    app: AppAPI, move_id: int, image_id: int, error: str, state: str = "failed"
) -> None:
    """Report an image the batch does not move (the app counts each image once)."""
    log.warning("image %s not moved: %s", image_id, error)
    try:
        await app.move_outcome(move_id, image_id, MoveOutcome(state=state, error=error))  # type: ignore[arg-type]
    except AppError as exc:
        log.error("the outcome of image %s could not be reported: %s", image_id, exc)


async def _hand_over(
    app: AppAPI, move_id: int, image_ids: list[int], holder: str
) -> dict[str, Any]:
    """The source pool is on another node now: the app queues each image there."""
    report = MoveOutcome(state="wrong-node", error=f"the source pool is on {holder}")
    for image_id in image_ids:
        await app.move_outcome(move_id, image_id, report)
    log.warning("source pool is on node %s; the app hands the batch over", holder)
    return {"state": "handed-over", "node_id": holder}


async def _move(
    node: NodeContext, move_id: int, tickets: list[MoveTicket], throttle: MoveThrottle
) -> dict[str, Any]:
    if not tickets:
        return {"state": "moved", "images": 0}
    first = tickets[0]
    try:
        source = await node.pools.base_path(first.source_pool_id)
        local = first.target_node_id == node.settings.node_id
        target = await node.pools.base_path(first.target_pool_id) if local else None
    except UnknownPool as exc:
        raise TryLater(f"pool {exc} is not in this node's map yet") from exc
    app = node.app
    to_copy, cleanup = [], []
    for ticket in tickets:
        if ticket.where == "elsewhere":
            note = "the image is no longer on the source pool"
            await _outcome(app, move_id, ticket.image_id, note, "skipped")
        elif ticket.where == "target":
            cleanup.append(ticket)  # switched by an earlier run that died before the delete
        else:
            to_copy.append(ticket)
    later: Exception | None = None
    timings = {"copy_s": 0.0, "switch_s": 0.0, "remove_s": 0.0}

    async def remove(done: list[MoveTicket]) -> int:
        begun = time.perf_counter()
        every = [f for ticket in done for f in (ticket.original, *ticket.variants)]
        count = await asyncio.to_thread(batchfiles.remove_sources, source, target, every)
        timings["remove_s"] += time.perf_counter() - begun
        return count

    # Local copies go a chunk at a time: a chunk's sources are deleted (after its switch)
    # while the next chunk is copied, so the deletes cost little time of their own.
    step = PIPELINE_CHUNK if target is not None else max(len(to_copy), 1)
    deleting = [asyncio.create_task(remove(cleanup))] if cleanup else []
    moved = moved_bytes = 0
    try:
        for first_of in range(0, len(to_copy), step):
            chunk = to_copy[first_of : first_of + step]
            begun = time.perf_counter()
            if target is not None:
                parallel = throttle.parallel or batchfiles.PARALLEL_FILES
                copies = await asyncio.to_thread(
                    batchfiles.copy_batch, source, target, chunk, parallel
                )
            else:
                copies, later = await _push_batch(
                    node, source, chunk, throttle.parallel or PARALLEL_PUSHES
                )
            copied = time.perf_counter()
            timings["copy_s"] += copied - begun
            switched, switched_bytes = await _switch(app, move_id, copies)
            timings["switch_s"] += time.perf_counter() - copied
            moved, moved_bytes = moved + len(switched), moved_bytes + switched_bytes
            if switched:
                deleting.append(asyncio.create_task(remove(switched)))
    finally:
        # Only switched images' sources are deleted: also after a failure, they are done.
        removed = sum(await asyncio.gather(*deleting))
    # Where a batch's time goes (bench/moves.py sums these; deletes overlap copies).
    log.info(
        "batch moved",
        extra={
            "images": moved,
            "bytes": moved_bytes,
            "removed": removed,
            **{name: round(seconds, 3) for name, seconds in timings.items()},
        },
    )
    if later is not None:
        raise later
    return {"state": "moved", "images": moved, "bytes": moved_bytes, "removed": removed}


async def _switch(
    app: AppAPI, move_id: int, copies: list[batchfiles.CopiedImage]
) -> tuple[list[MoveTicket], int]:
    """Report the images not copied, switch the others; (tickets switched, their bytes)."""
    switch: list[MoveBatchItem] = []
    for copy in copies:
        image_id = copy.ticket.image_id
        if copy.skipped:
            await _outcome(app, move_id, image_id, copy.skipped, "skipped")
        elif copy.quarantine:
            await _outcome(app, move_id, image_id, copy.quarantine, "quarantined")
        elif copy.error:
            await _outcome(app, move_id, image_id, copy.error)
        else:
            switch.append(
                MoveBatchItem(
                    image_id=image_id,
                    original_sha256=copy.ticket.original.sha256,
                    bytes=copy.bytes,
                    missing_variants=copy.missing,
                )
            )
    if not switch:
        return [], 0
    answer = await app.move_batch_switch(move_id, MoveBatchSwitch(items=switch))
    switched = {i for i, where in answer.where.items() if where == "target"}
    tickets = [c.ticket for c in copies if c.ticket.image_id in switched]
    return tickets, sum(item.bytes for item in switch if item.image_id in switched)


async def _push_batch(
    node: NodeContext, source: Path, tickets: list[MoveTicket], parallel: int
) -> tuple[list[batchfiles.CopiedImage], Exception | None]:
    """Push each image to the target node (a grant each), a few at once.

    A target that cannot take an image now leaves it out (the job runs again
    for it); the first such exception is returned.
    """
    gate = asyncio.Semaphore(parallel)
    later: list[Exception] = []

    async def one(ticket: MoveTicket) -> batchfiles.CopiedImage | None:
        copy = batchfiles.CopiedImage(ticket)

        async def ask(request: MoveGrantRequest) -> MoveGrant:
            try:
                return await node.app.move_grant(ticket.move_id, ticket.image_id, request)
            except AppRefused as exc:
                if exc.code == "MOVE_NOT_RUNNING":  # paused meanwhile: a later run parks it
                    raise TryLater(f"the move is not running: {exc}") from exc
                raise

        if not (await asyncio.to_thread(_original_there, source, ticket)):
            copy.quarantine = f"original {ticket.original.path} is missing at the source"
            return copy
        async with gate:
            try:
                every = [ticket.original, *ticket.variants]
                pushed, copy.missing, _ = await push_all(node.http, source, ticket, every, ask)
            except (TryLater, AppUnavailable) as exc:
                later.append(exc)
                return None
            except (Refused, AppRefused) as exc:
                if isinstance(exc, Refused) and exc.code == SOURCE_DAMAGED:
                    copy.quarantine = str(exc)
                elif isinstance(exc, AppRefused) and exc.code == "NOT_FOUND":
                    copy.skipped = "the image was deleted"  # since its ticket: no grant
                else:
                    copy.error = str(exc)
                return copy
        copy.staged = [batchfiles.Staged(f, Path(f.path), None, f.size, f.sha256) for f in pushed]
        return copy

    done = await asyncio.gather(*(one(ticket) for ticket in tickets))
    return [c for c in done if c is not None], (later[0] if later else None)


def _original_there(source: Path, ticket: MoveTicket) -> bool:
    return links.resolve_file(source, ticket.original.path).is_file()
