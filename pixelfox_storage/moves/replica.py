"""``replicate_image``: one copy of an image, pushed from the *source* node's background lane.

The app enqueues it (``pixelfox_protocol.jobs.ReplicateImage``, job id
``RedisKeys.replica_job``) right after an upload's variants are recorded, and
for repairs. The job:

1. asks the app for the copy's ticket (the copy must still be pending, this
   node must hold a verified copy: the source);
2. hashes the original and every variant here and asks for a grant naming
   exactly those files and hashes (the app checks them against the rows);
3. pushes the original first, then the variants, through the target's
   replicate API (:func:`.calls.push_all`, the very pushes a move makes);
4. the target, once it holds every file of the grant, reports the copy to the
   app with each file's size and SHA-256; its answer says ``verified``.

Nothing here deletes anything. A rerun after a crash pushes again with a
fresh grant; the target answers "already there" for the files it has, and
reports the copy once it has them all.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from arq import Retry
from arq.connections import ArqRedis

from pixelfox_common.logs import job_context
from pixelfox_common.metrics import observed_job
from pixelfox_protocol import jobs, links
from pixelfox_protocol.internal import CopyTicket, MoveGrant, MoveGrantRequest

from ..appapi import AppRefused, AppUnavailable
from ..node_jobs.imagelock import ImageBusy, image_lock
from ..pools import PoolMapUnavailable, UnknownPool
from .calls import Refused, TryLater, push_all
from .jobs import MAX_TRIES, backoff

if TYPE_CHECKING:  # the worker's lanes import this module
    from ..node_jobs.context import NodeContext

log = logging.getLogger(__name__)

# The app's refusals after which a later try may pass.
_TRY_AGAIN_CODES = {"VISIBILITY_CHANGING", "UNAVAILABLE"}


@observed_job("replica")
async def replicate_image(
    ctx: dict[str, Any], copy_id: int, image_uuid: str, source_pool_id: int, request_id: str = ""
) -> dict[str, Any]:
    """Push one pending copy of an image to its target node; the target's report verifies it."""
    node: NodeContext = ctx["node"]
    redis: ArqRedis = ctx["redis"]
    job_try = int(ctx.get("job_try", 1))
    with job_context(
        job_id=ctx.get("job_id"),
        job=jobs.REPLICATE_IMAGE,
        request_id=request_id,
        image_uuid=image_uuid,
        copy_id=copy_id,
    ):
        try:
            ticket = await node.app.copy_ticket(copy_id)
            if ticket.state != "pending":
                return {"state": ticket.state}
            async with image_lock(
                redis, node.keys, node.settings.node_id, ticket.image_uuid, ctx.get("job_id")
            ):
                return await _replicate(node, ticket)
        except ImageBusy as exc:
            raise Retry(defer=backoff(job_try)) from exc
        except (TryLater, AppUnavailable, PoolMapUnavailable) as exc:
            return _again_or_fail(job_try, exc)
        except AppRefused as exc:
            if exc.code == "NOT_FOUND":
                return {"state": "gone"}
            if exc.code == "COPY_NOT_PENDING":
                return {"state": str(exc.details.get("state", "not-pending"))}
            if exc.code in _TRY_AGAIN_CODES:
                return _again_or_fail(job_try, exc)
            log.error("copy not pushed: %s", exc)
            return {"state": "failed", "error": str(exc)}
        except Refused as exc:
            log.error("copy not pushed: %s", exc)
            return {"state": "failed", "error": str(exc)}


def _again_or_fail(job_try: int, exc: Exception) -> dict[str, Any]:
    if job_try < MAX_TRIES:
        log.warning("try %d failed (%s); again in %.0fs", job_try, exc, backoff(job_try))
        raise Retry(defer=backoff(job_try)) from exc
    log.error("copy not pushed after %d tries: %s", job_try, exc)
    return {"state": "failed", "error": f"gave up after {job_try} tries: {exc}"}


async def _replicate(node: NodeContext, ticket: CopyTicket) -> dict[str, Any]:
    try:
        source = await node.pools.base_path(ticket.source_pool_id)
    except UnknownPool as exc:
        raise TryLater(f"pool {exc} is not in this node's map yet") from exc
    if not links.resolve_file(source, ticket.original.path).is_file():
        raise Refused(f"original {ticket.original.path} is missing at the source")

    async def ask(request: MoveGrantRequest) -> MoveGrant:
        return await node.app.copy_grant(ticket.copy_id, request)

    every = [ticket.original, *ticket.variants]
    pushed, missing, answers = await push_all(node.http, source, ticket, every, ask)
    if missing:
        # The app verifies a copy only with every variant: repair (scrub) first.
        raise Refused(f"{len(missing)} variant(s) missing at the source: {missing[:3]}")
    size = sum(file.size for file in pushed)
    if answers and answers[-1].copy_state == "verified":
        log.info("copy pushed and verified", extra={"bytes": size, "files": len(pushed)})
        return {"state": "verified", "bytes": size}
    # The target could not report (the app did not answer it): look, and try again if so.
    again = await node.app.copy_ticket(ticket.copy_id)
    if again.state == "pending":
        raise TryLater("the target has not reported the copy verified yet")
    return {"state": again.state, "bytes": size}
