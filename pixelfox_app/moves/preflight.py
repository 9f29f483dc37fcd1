"""A move's plan before it starts: what it would move, where, and whether it may start.

``plan_for(source, target)`` counts the source's images and the bytes of their
originals and variants, says how they spread over the target(s) and how much
room each target keeps above its reserve afterwards, estimates the time at the
throttle, and runs the **preflight**: every target active, with a fresh
heartbeat, its upload API reachable and room for originals *and* variants
above its reserve (the facts placement uses, ``control.judge_target``), and the
source set to drain (start takes it out of placement: no new uploads, reads
and deletes go on). ``pixelfox moves start --dry-run``, the admin's Plan step
and ``POST /api/v1/admin/moves/plan`` show it; start refuses what it refuses.
"""

from __future__ import annotations

from arq.connections import ArqRedis
from pydantic import BaseModel, Field

from pixelfox_protocol.keys import RedisKeys

from ..copies.replicas import replicas_on
from ..models import StoragePool
from ..nodes import node_of
from .control import choose_target, find_pool, judge_target, pool_totals
from .throttle import Throttle

# Placement's reasons, by the preflight check they fail.
_CHECK_OF = {
    "pool_inactive": "target_active",
    "node_inactive": "target_active",
    "no_heartbeat": "target_fresh",
    "heartbeat_stale": "target_fresh",
    "node_recovering": "target_fresh",
    "pool_not_reported": "target_fresh",
    "upload_api_unreachable": "target_reachable",
    "no_room": "target_room",
}
TARGET_CHECKS = ("target_active", "target_fresh", "target_reachable", "target_room")


class Check(BaseModel):
    name: str = Field(
        description="target_active, target_fresh, target_reachable, target_room or source_drain"
    )
    ok: bool | None = Field(description="None: not checked, an earlier check failed")
    detail: str = ""


class TargetPlan(BaseModel):
    pool: str
    pool_id: int
    node_id: str
    images: int
    bytes: int = Field(description="Originals and variants that would land there")
    free_bytes_after: int | None = Field(
        default=None, description="Free bytes left after the move (None: not known)"
    )
    reserve_bytes: int | None = None


class MovePlan(BaseModel):
    source: str
    source_id: int
    images: int
    originals_bytes: int
    variants_bytes: int
    bytes: int
    replicas: int = Field(description="Copies of other pools' images on the source, placed anew")
    targets: list[TargetPlan]
    throttle: Throttle
    eta_seconds: float | None = Field(
        description="Estimated time at the throttle (None: unthrottled, as fast as the node "
        "goes); time outside the window not counted"
    )
    checks: list[Check]
    ready: bool = Field(description="Every check passed: start would begin now")


async def preflight(
    target: StoragePool, needed: int, redis: ArqRedis, keys: RedisKeys
) -> tuple[list[Check], TargetPlan]:
    """The target's checks, in order, and its share of the plan."""
    verdict = await judge_target(target, needed, redis, keys)
    failed = _CHECK_OF.get(verdict.reason, "target_active") if not verdict.eligible else ""
    checks: list[Check] = []
    seen_failure = False
    for name in TARGET_CHECKS:
        if seen_failure:
            checks.append(Check(name=name, ok=None))
        elif name == failed:
            seen_failure = True
            checks.append(Check(name=name, ok=False, detail=verdict.detail or verdict.reason))
        else:
            checks.append(Check(name=name, ok=True))
    plan = TargetPlan(
        pool=target.name,
        pool_id=target.id,
        node_id=node_of(target),
        images=0,
        bytes=needed,
        free_bytes_after=verdict.free_after_bytes,
        reserve_bytes=verdict.reserve_bytes,
    )
    return checks, plan


def drain_check(source: StoragePool) -> Check:
    if not source.is_upload_target:
        return Check(name="source_drain", ok=True, detail="out of placement already")
    return Check(
        name="source_drain",
        ok=True,
        detail="start takes it out of placement: no new uploads, reads and deletes go on",
    )


async def plan_for(
    source_ref: str | int,
    target_ref: str | int | None,
    redis: ArqRedis,
    keys: RedisKeys,
    throttle: Throttle | None = None,
) -> MovePlan:
    """The plan of moving every image of the source to the target (or where placement says)."""
    source = await find_pool(source_ref)
    if target_ref is None or str(target_ref).strip() == "":
        target = await choose_target(source, redis, keys)
    else:
        target = await find_pool(target_ref)
    throttle = throttle or Throttle()
    images, originals, variants = await pool_totals(source)
    checks, share = await preflight(target, originals + variants, redis, keys)
    share.images = images
    checks.append(drain_check(source))
    return MovePlan(
        source=source.name,
        source_id=source.id,
        images=images,
        originals_bytes=originals,
        variants_bytes=variants,
        bytes=originals + variants,
        replicas=await replicas_on(source.id).count(),
        targets=[share],
        throttle=throttle,
        eta_seconds=throttle.eta(images, originals + variants),
        checks=checks,
        ready=all(c.ok for c in checks),
    )
