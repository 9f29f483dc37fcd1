"""Moves: start one from a pool ("Move to…"), watch its counters live, pause, resume, cancel."""

from __future__ import annotations

from quart import g, redirect, request

from pixelfox_protocol.errors import APIError

from ...models import Move, MoveItem, MoveState, StoragePool
from ...moves import cancel_move, pause_move, resume_move, start_move
from ...moves.progress import FINAL
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


async def _form(source: StoragePool, error: str = "", status: int = 200):
    targets = await StoragePool.filter(is_active=True).exclude(id=source.id).order_by("name")
    context = {"source": source, "targets": targets, "error": error}
    body = await page("admin/moves/new.html", "admin/moves/_form.html", **context)
    return body, status


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
    source = await StoragePool.get_or_none(id=pool_id)
    if source is None:
        return await error_page(404, "Not found", "There is no such pool.")
    target = (await request.form).get("target", "")
    try:
        move = await start_move(source.id, target, arq(), keys(), requested_by=g.user.username)
    except APIError as exc:
        reason = exc.details.get("detail") or exc.details.get("reason") or ""
        return await _form(source, f"{exc.message} {reason}".strip(), exc.status)
    return redirect(f"/admin/moves/{move.id}")


async def _detail(move_id: int, notice: str = ""):
    move = await Move.get_or_none(id=move_id).select_related("source", "target")
    if move is None:
        return await error_page(404, "Not found", "There is no such move.")
    items = await MoveItem.filter(move_id=move.id).order_by("id").limit(ITEMS_SHOWN)
    return await page(
        "admin/moves/detail.html",
        "admin/moves/_progress.html",
        move=move,
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


ACTIONS = {"pause": pause_move, "resume": resume_move, "cancel": cancel_move}


@blueprint.post("/moves/<int:move_id>/<string:action>")
@page_admin_required
async def move_action(move_id: int, action: str):
    """Pause, resume or cancel; answers with the progress fragment."""
    act = ACTIONS.get(action)
    if act is None:
        return await error_page(404, "Not found", "There is no such action.")
    try:
        await act(move_id, arq(), keys())
    except APIError as exc:
        return await _detail(move_id, exc.message)
    return await _detail(move_id, f"Move {action}d." if action != "cancel" else "Move cancelled.")
