"""The admin's JSON API of moves (``/api/v1/admin/moves``).

Create, list, get, pause, resume, cancel; the admin page and the CLI call the same
functions (``pixelfox_app.moves.control``).
"""

from __future__ import annotations

from arq.connections import ArqRedis
from pydantic import BaseModel, Field
from quart import Blueprint, current_app, g
from quart_schema import validate_querystring, validate_request, validate_response

from pixelfox_common.web import raises
from pixelfox_protocol.errors import APIError
from pixelfox_protocol.keys import RedisKeys

from ..auth import admin_required
from ..copies.replicas import replicas_on
from ..models import Move, MoveItem
from .control import (
    DEFAULT_BATCH,
    cancel_move,
    pause_move,
    resume_move,
    retry_move,
    set_throttle,
    start_move,
)
from .preflight import MovePlan, plan_for
from .progress import FINAL
from .rate import rate_of
from .throttle import Throttle

blueprint = Blueprint("moves_api", __name__, url_prefix="/api/v1/admin/moves")
ITEMS_SHOWN = 100


class MoveRequest(BaseModel):
    source: str = Field(description="Source pool, by name or id")
    target: str = Field(description="Target pool, by name or id")
    batch_size: int = Field(default=DEFAULT_BATCH, ge=1, le=10_000)
    throttle: Throttle = Field(default_factory=Throttle)


class PlanRequest(BaseModel):
    source: str = Field(description="Source pool, by name or id")
    target: str = Field(
        default="", description="Target pool, by name or id; empty: where placement would put it"
    )
    throttle: Throttle = Field(default_factory=Throttle)


class MoveItemInfo(BaseModel):
    image_id: int | None
    state: str
    error: str
    attempts: int


class MoveInfo(BaseModel):
    id: int
    source: str
    source_id: int
    target: str
    target_id: int
    state: str
    planned: int
    done: int
    failed: int
    skipped: int
    quarantined: int = Field(
        default=0,
        description="Images whose source original is missing or fails its hash; "
        "POST …/retry moves them again",
    )
    bytes_moved: int
    replicas_left: int = Field(
        default=0,
        description="Copies of other pools' images still on the source; a move ends once "
        "every one is placed anew elsewhere and removed from the source",
    )
    chosen_images: int | None = Field(
        default=None,
        description="A move of chosen images (the admin's Images page): how many; "
        "None: every image of the source pool",
    )
    planning_finished: bool
    images_per_second: float = Field(default=0, description="Images done per second, on average")
    bytes_per_second: float = Field(default=0, description="Bytes moved per second, on average")
    images_left: int = Field(default=0, description="Images still on the source pool")
    eta_seconds: float | None = Field(
        default=None, description="Estimated time left at the rate so far (running moves)"
    )
    throttle: Throttle = Field(default_factory=Throttle)
    paused_by_window: bool = Field(
        default=False, description="Paused outside its time window; resumes when it opens"
    )
    requested_by: str
    created_at: str
    finished_at: str | None = None
    items: list[MoveItemInfo] = []


class MoveList(BaseModel):
    moves: list[MoveInfo]


class ListQuery(BaseModel):
    limit: int = Field(default=50, ge=1, le=500)


def _redis() -> ArqRedis:
    redis: ArqRedis = current_app.extensions["redis"]
    return redis


def _keys() -> RedisKeys:
    keys: RedisKeys = current_app.extensions["keys"]
    return keys


async def describe(move: Move, *, with_items: bool = False) -> MoveInfo:
    """A move with its pools loaded, as the API and the CLI show it."""
    items: list[MoveItem] = []
    if with_items:
        items = await MoveItem.filter(move_id=move.id).order_by("id").limit(ITEMS_SHOWN)
    rate = await rate_of(move)
    draining = move.state not in FINAL and move.image_ids is None
    return MoveInfo(
        id=move.id,
        source=move.source.name,
        source_id=move.source.id,
        target=move.target.name,
        target_id=move.target.id,
        state=str(move.state),
        planned=move.planned,
        done=move.done,
        failed=move.failed,
        skipped=move.skipped,
        quarantined=move.quarantined,
        bytes_moved=move.bytes_moved,
        replicas_left=await replicas_on(move.source.id).count() if draining else 0,
        chosen_images=None if move.image_ids is None else len(move.image_ids),
        planning_finished=move.planned_at is not None,
        images_per_second=round(rate.images_per_second, 2),
        bytes_per_second=round(rate.bytes_per_second, 1),
        images_left=rate.images_left,
        eta_seconds=None if rate.eta_seconds is None else round(rate.eta_seconds, 1),
        throttle=Throttle.of(move),
        paused_by_window=move.paused_by_window,
        requested_by=move.requested_by,
        created_at=move.created_at.isoformat(),
        finished_at=move.finished_at.isoformat() if move.finished_at else None,
        items=[
            MoveItemInfo(
                image_id=i.image_id,  # type: ignore[attr-defined]
                state=str(i.state),
                error=i.error,
                attempts=i.attempts,
            )
            for i in items
        ],
    )


async def load(move_id: int) -> Move:
    move = await Move.get_or_none(id=move_id).select_related("source", "target")
    if move is None:
        raise APIError("NOT_FOUND")
    return move


@blueprint.post("")
@admin_required
@validate_request(MoveRequest)
@validate_response(MoveInfo, 201)
@raises("NOT_FOUND", "MOVE_SAME_POOL", "MOVE_RUNNING", "MOVE_TARGET_UNAVAILABLE", "STORAGE_FULL")
async def create(data: MoveRequest) -> tuple[MoveInfo, int]:
    """Start moving every image of one pool to another (admin)."""
    move = await start_move(
        data.source,
        data.target,
        _redis(),
        _keys(),
        requested_by=g.user.username,
        batch_size=data.batch_size,
        throttle=data.throttle,
    )
    return await describe(await load(move.id)), 201


@blueprint.get("")
@admin_required
@validate_querystring(ListQuery)
@validate_response(MoveList)
async def list_moves(query_args: ListQuery) -> MoveList:
    """The latest moves, newest first, with their counters (admin)."""
    moves = (
        await Move.all().order_by("-id").limit(query_args.limit).select_related("source", "target")
    )
    return MoveList(moves=[await describe(m) for m in moves])


@blueprint.get("/<int:move_id>")
@admin_required
@validate_response(MoveInfo)
@raises("NOT_FOUND")
async def get_move(move_id: int) -> MoveInfo:
    """One move: counters and the per-image errors (the first 100) (admin)."""
    return await describe(await load(move_id), with_items=True)


@blueprint.post("/<int:move_id>/pause")
@admin_required
@validate_response(MoveInfo)
@raises("NOT_FOUND", "MOVE_STATE")
async def pause(move_id: int) -> MoveInfo:
    """Pause a running move; jobs that come up meanwhile wait for resume (admin)."""
    return await describe(await pause_move(move_id, _redis(), _keys()))


@blueprint.post("/<int:move_id>/resume")
@admin_required
@validate_response(MoveInfo)
@raises("NOT_FOUND", "MOVE_STATE")
async def resume(move_id: int) -> MoveInfo:
    """Resume a paused move where it stopped (admin)."""
    return await describe(await resume_move(move_id, _redis(), _keys()))


@blueprint.post("/<int:move_id>/cancel")
@admin_required
@validate_response(MoveInfo)
@raises("NOT_FOUND", "MOVE_STATE")
async def cancel(move_id: int) -> MoveInfo:
    """Stop a move for good; moved images stay moved (admin)."""
    return await describe(await cancel_move(move_id, _redis(), _keys()))


@blueprint.post("/plan")
@admin_required
@validate_request(PlanRequest)
@validate_response(MovePlan)
@raises("NOT_FOUND", "MOVE_TARGET_UNAVAILABLE")
async def plan(data: PlanRequest) -> MovePlan:
    """What a move would do, and its preflight, without starting it (a dry run) (admin)."""
    return await plan_for(data.source, data.target or None, _redis(), _keys(), data.throttle)


@blueprint.post("/<int:move_id>/throttle")
@admin_required
@validate_request(Throttle)
@validate_response(MoveInfo)
@raises("NOT_FOUND", "MOVE_STATE")
async def throttle(move_id: int, data: Throttle) -> MoveInfo:
    """Change a move's rates and window while it runs; the next batch goes by them (admin)."""
    return await describe(await set_throttle(move_id, data, _redis(), _keys()))


@blueprint.post("/<int:move_id>/retry")
@admin_required
@validate_response(MoveInfo)
@raises("NOT_FOUND", "MOVE_STATE")
async def retry(move_id: int) -> MoveInfo:
    """Retry these: move the quarantined and failed images still on the source again (admin)."""
    return await describe(await retry_move(move_id, _redis(), _keys()))
