"""A move's throttle: bytes/s, images/s, files copied at once, and a time window.

Kept on the move's row and changeable while it runs: each batch job gets the
current throttle with its tickets (``MoveBatchTicket.throttle``) and takes at
least as long as its images and bytes allow at those rates, so a change acts
from the next batch on. ``parallel`` is how many files a batch job copies at
once (images pushed at once to another node); 0 is the node's default.

A window (``HH:MM-HH:MM`` in a time zone, e.g. ``01:00-06:00`` in
``Europe/Berlin``; over midnight when the end is before the start) lets the
move run only inside it: the control worker's cron (``enforce_windows``, every
minute) pauses a running move outside its window and resumes the moves it
paused once the window opens again. A move the operator paused stays paused.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from arq.connections import ArqRedis
from pydantic import BaseModel, Field, field_validator

from pixelfox_protocol.internal import MoveThrottle
from pixelfox_protocol.keys import RedisKeys

from ..models import Move, MoveState

log = logging.getLogger(__name__)

WINDOW_PATTERN = r"^$|^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$"


class Throttle(BaseModel):
    bytes_per_second: int = Field(default=0, ge=0, description="0: no limit")
    images_per_second: float = Field(default=0, ge=0, description="0: no limit")
    parallel: int = Field(
        default=0,
        ge=0,
        le=64,
        description="Files a batch job copies at once (images pushed at once to another "
        "node); 0: the node's default",
    )
    window: str = Field(
        default="",
        pattern=WINDOW_PATTERN,
        description="Run only from HH:MM to HH:MM (e.g. 01:00-06:00); empty: any time",
    )
    timezone: str = Field(default="UTC", max_length=64, description="The window's time zone")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @classmethod
    def of(cls, move: Move) -> Throttle:
        return cls(
            bytes_per_second=move.throttle_bytes_per_second,
            images_per_second=move.throttle_images_per_second,
            parallel=move.throttle_parallel,
            window=move.window,
            timezone=move.window_timezone,
        )

    def columns(self) -> dict[str, Any]:
        """The move row's fields for this throttle."""
        return {
            "throttle_bytes_per_second": self.bytes_per_second,
            "throttle_images_per_second": self.images_per_second,
            "throttle_parallel": self.parallel,
            "window": self.window,
            "window_timezone": self.timezone,
        }

    def for_node(self) -> MoveThrottle:
        return MoveThrottle(
            bytes_per_second=self.bytes_per_second,
            images_per_second=self.images_per_second,
            parallel=self.parallel,
        )

    def eta(self, images: int, size: int) -> float | None:
        """Seconds the rates need for that many images and bytes; None when unthrottled."""
        needs = [
            images / self.images_per_second if self.images_per_second else 0.0,
            size / self.bytes_per_second if self.bytes_per_second else 0.0,
        ]
        return max(needs) if any(needs) else None

    def inside(self, now: datetime | None = None) -> bool:
        """Whether the move may run now (always without a window)."""
        if not self.window:
            return True
        start_text, end_text = self.window.split("-")
        start, end = time.fromisoformat(start_text), time.fromisoformat(end_text)
        here = (now or datetime.now(UTC)).astimezone(ZoneInfo(self.timezone)).time()
        if start <= end:
            return start <= here < end
        return here >= start or here < end  # over midnight


async def enforce_windows(
    redis: ArqRedis, keys: RedisKeys, now: datetime | None = None
) -> dict[str, int]:
    """Pause running moves outside their window, resume those it paused inside it."""
    from .control import pause_move, resume_move

    paused = resumed = 0
    for move in await Move.filter(state=MoveState.RUNNING).exclude(window=""):
        if not Throttle.of(move).inside(now):
            await pause_move(move.id, redis, keys, by_window=True)
            log.info("move %s paused outside its window %s", move.id, move.window)
            paused += 1
    for move in await Move.filter(state=MoveState.PAUSED, paused_by_window=True):
        if Throttle.of(move).inside(now):
            await resume_move(move.id, redis, keys)
            log.info("move %s resumed: its window %s is open", move.id, move.window)
            resumed += 1
    return {"paused": paused, "resumed": resumed}
