"""``move_image``: one image of a move, on the background lane of the *source* node.

Moves run in batches (``.batch``); an image comes here on its own only when the
app hands it over: a batch ran on a node that no longer holds the source pool,
and the app queues each of its images on the holder as ``move_image``
(``pixelfox_protocol.jobs.MoveImage``, job id ``RedisKeys.move_handover_job``).
The job:

1. looks at the move's state in Redis; paused → it parks the image in this
   node's parked set (resume queues it again) and ends, cancelled → it ends;
2. asks the app for the image's ticket: its files and the target; when the
   app says the source pool is on another node now, it tells the app so, and
   the app queues the job there;
3. copies the original and every variant to the target — a local copy when the
   target pool is on this node, else, with a grant the app mints for exactly
   the files hashed here, a push to the target's replicate API — and has each
   copy verified by SHA-256 at the target;
4. asks the app to switch the image's rows to the target (one transaction);
5. only then deletes the source copies.

A rerun after a crash finds the rows switched (step 5 only) or the copies
there (the target answers "already there"), so nothing is done twice and
nothing is lost. An image whose original is missing is quarantined (listed,
never moved, until "retry these"); a damaged one (its hash differs from the
upload's) too. Only the source copies
are ever deleted, and never a file the target also reaches (two pools on one
directory: no IO at all).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arq import Retry
from arq.connections import ArqRedis
from redis.asyncio import Redis
from redis.exceptions import WatchError

from pixelfox_common.logs import job_context
from pixelfox_common.metrics import observed_job
from pixelfox_protocol import jobs, links
from pixelfox_protocol.internal import (
    MoveFile,
    MoveGrant,
    MoveGrantRequest,
    MoveOutcome,
    MoveSwitch,
    MoveTicket,
)
from pixelfox_protocol.keys import RedisKeys

from ..appapi import AppAPI, AppError, AppRefused, AppUnavailable
from ..node_jobs.imagelock import ImageBusy, image_lock
from ..pools import PoolMapUnavailable, UnknownPool
from . import files
from .calls import SOURCE_DAMAGED, Refused, TryLater, WrongNode, move_ticket, push_all

if TYPE_CHECKING:  # the worker's lanes import this module
    from ..node_jobs.context import NodeContext

log = logging.getLogger(__name__)

# As the node's other jobs: retries wait 1, 2, 4 … s up to 5 min, about 20 min in all.
MAX_TRIES = 12
BACKOFF_BASE = 1.0
BACKOFF_MAX = 300.0


def backoff(job_try: int) -> float:
    return float(min(BACKOFF_BASE * 2 ** max(job_try - 1, 0), BACKOFF_MAX))


async def check_or_park(
    redis: Redis, keys: RedisKeys, node_id: str, move_id: int, *image_ids: int
) -> str:
    """The move's state ('' when Redis does not know it); parks the images when paused.

    The state is watched while the image goes into this node's parked set, so a
    resume (which pops every node's set while it sets "running") either pops it
    or changes the state first, and then this runs again and sees "running".
    Plain commands in a transaction: nodes run no scripts.
    """
    state_key = keys.move_state(move_id)
    async with redis.pipeline(transaction=True) as pipe:
        while True:
            try:
                await pipe.watch(state_key)
                raw = await pipe.get(state_key)
                state = raw.decode() if isinstance(raw, bytes) else str(raw or "")
                if state == "paused":
                    pipe.multi()
                    pipe.sadd(keys.node_move_parked(node_id, move_id), *map(str, image_ids))
                    await pipe.execute()
                return state
            except WatchError:
                continue


@observed_job("move")
async def move_image(
    ctx: dict[str, Any], move_id: int, image_id: int, source_pool_id: int, request_id: str = ""
) -> dict[str, Any]:
    """Copy one image's files to the move's target, verify, switch, then delete the sources."""
    node: NodeContext = ctx["node"]
    redis: ArqRedis = ctx["redis"]
    job_try = int(ctx.get("job_try", 1))
    app = node.app
    with job_context(
        job_id=ctx.get("job_id"),
        job=jobs.MOVE_IMAGE,
        request_id=request_id,
        move_id=move_id,
        image_id=image_id,
    ):
        state = await check_or_park(redis, node.keys, node.settings.node_id, move_id, image_id)
        if state and state != "running":
            log.info("move is %s; image not moved now", state)
            return {"state": state}
        try:
            ticket = await move_ticket(app, move_id, image_id)
            if ticket.state not in ("running", "paused"):
                return {"state": ticket.state}
            # With the job id: a run after a kill takes over the lock its dead self left.
            async with image_lock(
                redis, node.keys, node.settings.node_id, ticket.image_uuid, ctx.get("job_id")
            ):
                return await _move(node, ticket)
        except WrongNode as exc:
            # The app puts the job on that node's lane: this node writes no other queue.
            report = MoveOutcome(state="wrong-node", error=f"the source pool is on {exc.node_id}")
            try:
                await app.move_outcome(move_id, image_id, report)
            except AppUnavailable as failed:
                if job_try < MAX_TRIES:
                    raise Retry(defer=backoff(job_try)) from failed
                log.error("the hand-over to %s could not be reported: %s", exc.node_id, failed)
                return {"state": "failed", "error": str(failed)}
            log.warning("source pool is on node %s; the app hands the job over", exc.node_id)
            return {"state": "handed-over", "node_id": exc.node_id}
        except ImageBusy as exc:
            raise Retry(defer=backoff(job_try)) from exc
        except (TryLater, AppUnavailable, PoolMapUnavailable) as exc:
            if job_try < MAX_TRIES:
                log.warning("try %d failed (%s); again in %.0fs", job_try, exc, backoff(job_try))
                raise Retry(defer=backoff(job_try)) from exc
            return await _give_up(app, move_id, image_id, f"gave up after {job_try} tries: {exc}")
        except (Refused, AppRefused) as exc:
            if exc.code == "NOT_FOUND":  # the image was deleted since it was planned
                return await _give_up(app, move_id, image_id, "the image was deleted", "skipped")
            if exc.code == SOURCE_DAMAGED:  # the source's original is not the upload's
                return await _give_up(app, move_id, image_id, str(exc), "quarantined")
            return await _give_up(app, move_id, image_id, str(exc))


async def _give_up(
    app: AppAPI, move_id: int, image_id: int, error: str, state: str = "failed"
) -> dict[str, Any]:
    log.error("image not moved: %s", error)
    try:
        await app.move_outcome(move_id, image_id, MoveOutcome(state=state, error=error))  # type: ignore[arg-type]
    except AppError as exc:
        log.error("the failure could not be reported: %s", exc)
    return {"state": state, "error": error}


async def _move(node: NodeContext, ticket: MoveTicket) -> dict[str, Any]:
    move_id, image_id, app = ticket.move_id, ticket.image_id, node.app
    try:
        source = await node.pools.base_path(ticket.source_pool_id)
        local = ticket.target_node_id == node.settings.node_id
        target = await node.pools.base_path(ticket.target_pool_id) if local else None
    except UnknownPool as exc:
        raise TryLater(f"pool {exc} is not in this node's map yet") from exc
    every = [ticket.original, *ticket.variants]
    if ticket.where == "elsewhere":
        note = "the image is no longer on the source pool"
        await app.move_outcome(move_id, image_id, MoveOutcome(state="skipped", error=note))
        return {"state": "skipped", "why": note}
    if ticket.where == "target":
        # Switched by an earlier run that died before it deleted the sources.
        removed = await asyncio.to_thread(_remove_sources, source, target, every)
        return {"state": "cleaned", "removed": removed}
    if not links.resolve_file(source, ticket.original.path).is_file():
        note = f"original {ticket.original.path} is missing at the source"
        await app.move_outcome(move_id, image_id, MoveOutcome(state="quarantined", error=note))
        log.warning("image quarantined: %s", note)
        return {"state": "quarantined", "why": note}
    if target is not None:
        copied, missing = await asyncio.to_thread(_copy_locally, source, target, ticket)
    else:
        copied, missing = await _push_all(node, source, ticket)
    answer = await app.move_switch(
        move_id,
        image_id,
        MoveSwitch(original_sha256=ticket.original.sha256, bytes=copied, missing_variants=missing),
    )
    if answer.where != "target":
        log.warning("rows not switched (image is %s); sources kept", answer.where)
        return {"state": "not-switched", "where": answer.where}
    removed = await asyncio.to_thread(_remove_sources, source, target, every)
    log.info(
        "image moved",
        extra={"bytes": copied, "removed": removed, "missing_variants": len(missing)},
    )
    return {"state": "moved", "bytes": copied, "missing_variants": missing}


def _copy_locally(source: Path, target: Path, ticket: MoveTicket) -> tuple[int, list[str]]:
    copied, missing = 0, []
    for file in [ticket.original, *ticket.variants]:
        here = links.resolve_file(source, file.path)
        there = links.resolve_file(target, file.path)
        if not here.is_file():
            missing.append(file.path)
            continue
        size = here.stat().st_size
        if not files.same_file(here, there):
            try:
                files.copy_local(here, target, file.path, file.sha256)
            except files.ChecksumMismatch as exc:
                raise Refused(str(exc), "CHECKSUM_MISMATCH") from exc
        copied += size
    return copied, missing


async def _push_all(node: NodeContext, source: Path, ticket: MoveTicket) -> tuple[int, list[str]]:
    """Hash every file here, ask the app for a grant naming them, then push each once."""

    async def ask(request: MoveGrantRequest) -> MoveGrant:
        try:
            return await node.app.move_grant(ticket.move_id, ticket.image_id, request)
        except AppRefused as exc:
            if exc.code == "MOVE_NOT_RUNNING":  # paused meanwhile: the next try parks the image
                raise TryLater(f"the move is not running: {exc}") from exc
            raise

    every = [ticket.original, *ticket.variants]
    pushed, missing, _answers = await push_all(node.http, source, ticket, every, ask)
    return sum(file.size for file in pushed), missing


def _remove_sources(source: Path, target: Path | None, every: list[MoveFile]) -> int:
    removed = 0
    for file in every:
        here = links.resolve_file(source, file.path)
        if target is not None and files.same_file(here, links.resolve_file(target, file.path)):
            continue  # the target reaches this very file: it is the moved copy
        removed += files.remove(here)
    return removed
