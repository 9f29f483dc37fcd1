"""A move's rate (images/s, bytes/s, averaged since its start) and its estimated time left.

The admin's live counters, ``GET /api/v1/admin/moves/<id>`` and ``pixelfox moves
show``/``--wait`` show them. Images left are those still on the source pool
(of a move of chosen images: those of them; exact, also while planning goes
on); the estimate is that count at the rate so far (time paused counts against the rate).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ..models import Image, Move, MoveState
from .progress import FINAL


@dataclass(frozen=True)
class Rate:
    images_per_second: float
    bytes_per_second: float
    images_left: int
    eta_seconds: float | None


async def rate_of(move: Move) -> Rate:
    started = move.started_at or move.created_at
    until = move.finished_at or datetime.now(UTC)
    elapsed = max((until - started).total_seconds(), 0.001)
    images_per_second = move.done / elapsed
    on_source = Image.filter(pool_id=move.source_id)  # type: ignore[attr-defined]
    if move.image_ids is not None:
        on_source = on_source.filter(id__in=move.image_ids)
    left = 0 if move.state in FINAL else await on_source.count()
    eta = None
    if move.state == MoveState.RUNNING and images_per_second > 0:
        eta = left / images_per_second
    return Rate(images_per_second, move.bytes_moved / elapsed, left, eta)


def progress_bar(done: int, left: int, width: int = 20) -> str:
    """``[#######.............] 35%``: images with an outcome of those with one and left."""
    total = done + left
    share = 1.0 if total == 0 else done / total
    filled = round(share * width)
    return f"[{'#' * filled}{'.' * (width - filled)}] {share * 100:3.0f}%"
