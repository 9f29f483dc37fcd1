"""Moves: start one from a pool ("Move to…"), watch its counters live, pause, resume, cancel."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from arq.connections import ArqRedis
from pydantic import ValidationError
from quart import g, redirect, request

from pixelfox_protocol.errors import APIError
from pixelfox_protocol.keys import RedisKeys

from ...models import Move, MoveItem, MoveState, StoragePool
from ...moves import cancel_move, pause_move, resume_move, retry_move, start_move
from ...moves.preflight import MovePlan, plan_for
from ...moves.progress import FINAL
from ...moves.rate import rate_of
from ...moves.throttle import Throttle
from ..access import page_admin_required
from ..render import error_page, page
from .base import arq, blueprint, keys

POLL_SECONDS = 2
ITEMS_SHOWN = 100


@blueprint.get("/moves")
@page_admin_required
async def moves_index():
    """Every move, newest first, with its counters."""
    moves = await Move.all().order_by("-id").limit(100).select_related("source", "target")
    running = any(m.state not in FINAL for m in moves)
    return await page(
        "admin/moves/index.html",
        "admin/moves/_table.html",
        moves=moves,
        running=running,
        poll_seconds=POLL_SECONDS,
    )


async def _form(
    source: StoragePool,
    error: str = "",
    status: int = 200,
    plan: MovePlan | None = None,
    chosen: dict[str, str] | None = None,
):
    targets = await StoragePool.filter(is_active=True).exclude(id=source.id).order_by("name")
    context = {
        "source": source,
        "targets": targets,
        "error": error,
        "plan": plan,
        "chosen": chosen or {},
    }
    body = await page("admin/moves/new.html", "admin/moves/_form.html", **context)
    return body, status


def _throttle_of(form: dict[str, str]) -> Throttle:
    """The form's throttle (MB/s for bytes); ValueError says what is wrong."""
    try:
        megabytes = float(form.get("megabytes_per_second") or 0)
        return Throttle(
            bytes_per_second=int(megabytes * 1_000_000),
            images_per_second=float(form.get("images_per_second") or 0),
            parallel=int(form.get("parallel") or 0),
            window=(form.get("window") or "").strip(),
            timezone=(form.get("timezone") or "UTC").strip(),
        )
    except ValidationError as exc:
        raise ValueError("; ".join(str(e["msg"]) for e in exc.errors())) from exc


Submit = Callable[[StoragePool, dict[str, str], Throttle], Awaitable[Any]]


async def _submitted(pool_id: int, act: Submit):
    """The move form posted: its source, fields and throttle, handed to ``act``; a
    refusal shows the form again with the reason."""
    source = await StoragePool.get_or_none(id=pool_id)
    if source is None:
        return await error_page(404, "Not found", "There is no such pool.")
    form = dict(await request.form)
    try:
        return await act(source, form, _throttle_of(form))
    except ValueError as exc:
        return await _form(source, f"The throttle is not valid: {exc}", 422, chosen=form)
    except APIError as exc:
        reason = exc.details.get("detail") or exc.details.get("reason") or ""
        return await _form(source, f"{exc.message} {reason}".strip(), exc.status, chosen=form)


@blueprint.post("/pools/<int:pool_id>/move/plan")
@page_admin_required
async def move_plan(pool_id: int):
    """The Plan step: what the move would do and its preflight, before Start."""

    async def show(source: StoragePool, form: dict[str, str], throttle: Throttle) -> Any:
        plan = await plan_for(source.id, form.get("target", ""), arq(), keys(), throttle)
        return await _form(source, plan=plan, chosen=form)

    return await _submitted(pool_id, show)


@blueprint.get("/pools/<int:pool_id>/move")
@page_admin_required
async def move_new(pool_id: int):
    """Choose where a pool's images go (only active pools other than the source)."""
    source = await StoragePool.get_or_none(id=pool_id)
    if source is None:
        return await error_page(404, "Not found", "There is no such pool.")
    return await _form(source)


@blueprint.post("/pools/<int:pool_id>/move")
@page_admin_required
async def move_create(pool_id: int):
    """Start the move, or show the form again with the reason it cannot start."""

    async def start(source: StoragePool, form: dict[str, str], throttle: Throttle) -> Any:
        target = form.get("target", "")
        user = g.user.username
        move = await start_move(
            source.id, target, arq(), keys(), requested_by=user, throttle=throttle
        )
        return redirect(f"/admin/moves/{move.id}")

    return await _submitted(pool_id, start)


async def _detail(move_id: int, notice: str = ""):
    move = await Move.get_or_none(id=move_id).select_related("source", "target")
    if move is None:
        return await error_page(404, "Not found", "There is no such move.")
    items = await MoveItem.filter(move_id=move.id).order_by("id").limit(ITEMS_SHOWN)
    return await page(
        "admin/moves/detail.html",
        "admin/moves/_progress.html",
        move=move,
        rate=await rate_of(move),
        items=items,
        live=move.state not in FINAL,
        paused=move.state == MoveState.PAUSED,
        notice=notice,
        poll_seconds=POLL_SECONDS,
    )


@blueprint.get("/moves/<int:move_id>")
@page_admin_required
async def move_detail(move_id: int):
    """One move: live counters (polling stops when it ends) and its per-image errors."""
    return await _detail(move_id)


Action = Callable[[int, ArqRedis, RedisKeys], Awaitable[Move]]
ACTIONS: dict[str, Action] = {
    "pause": pause_move,
    "resume": resume_move,
    "cancel": cancel_move,
    "retry": retry_move,
}
DONE_NOTICE = {"cancel": "Move cancelled.", "retry": "The images are moved again."}


@blueprint.post("/moves/<int:move_id>/<string:action>")
@page_admin_required
async def move_action(move_id: int, action: str):
    """Pause, resume, cancel or retry the images not moved; answers with the progress
    fragment."""
    act = ACTIONS.get(action)
    if act is None:
        return await error_page(404, "Not found", "There is no such action.")
    try:
        await act(move_id, arq(), keys())
    except APIError as exc:
        return await _detail(move_id, exc.message)
    return await _detail(move_id, DONE_NOTICE.get(action, f"Move {action}d."))
