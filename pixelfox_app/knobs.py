"""Operator knobs: typed settings with defaults, stored in the ``settings`` table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from .models import Setting


@dataclass(frozen=True)
class Knob:
    key: str
    default: Any
    kind: type
    label: str
    help: str = ""
    choices: tuple[str, ...] = ()


KNOBS: dict[str, Knob] = {
    k.key: k
    for k in (
        Knob(
            "direct_upload",
            True,
            bool,
            "Direct-to-storage upload",
            "Browsers upload straight to a storage node; off = the app takes uploads itself.",
        ),
        Knob("upload_rate_limit_per_minute", 60, int, "Uploads per minute per IP address"),
        Knob("upload_user_rate_limit_per_minute", 60, int, "Uploads per minute per user"),
        Knob(
            "redirect_rate_limit_per_minute",
            600,
            int,
            "File redirects per minute per IP address",
            "A storage node sends a request for a file it does not hold (an old URL) to the "
            "app, which redirects it to a live copy; a page of thumbnails may ask many at once.",
        ),
        Knob("max_upload_bytes", 50 * 1024 * 1024, int, "Largest upload in bytes"),
        Knob(
            "resumable_upload_bytes",
            8 * 1024 * 1024,
            int,
            "Resumable uploads above (bytes)",
            "The upload page sends larger files resumably (tus), in chunks that survive a cut "
            "or a reload; smaller ones in one request. 0 = every file.",
        ),
        Knob(
            "allowed_types",
            ["image/jpeg", "image/png", "image/gif", "image/webp", "image/avif"],
            list,
            "Accepted image types",
        ),
        Knob("max_pixels", 100_000_000, int, "Largest image in pixels"),
        Knob("max_frames", 200, int, "Most frames of an animation"),
        Knob(
            "trash_retention_days",
            7,
            int,
            "Days a deleted image stays in the trash",
            "Its owner or an admin can restore it meanwhile; then it is purged for good "
            "(every file, the S3 backup, the rows). 0 = purged at the next run (about a minute).",
        ),
        Knob(
            "signup_mode",
            "closed",
            str,
            "Sign-up",
            "closed: only admins create accounts; invite: invite links made on the Users page; "
            "open: anyone may pick a username and password.",
            choices=("closed", "invite", "open"),
        ),
        Knob(
            "signup_quota_bytes",
            0,
            int,
            "Storage of a new account (bytes)",
            "Originals and variants a signed-up account may keep; 0 = no limit. "
            "Admins change it per user.",
        ),
        Knob("signup_rate_limit_per_minute", 5, int, "Sign-ups per minute per IP address"),
        Knob(
            "guest_uploads",
            False,
            bool,
            "Guest uploads",
            "Visitors without an account may upload (public or unlisted), with the stricter "
            "limits below; each upload's delete link is shown once.",
        ),
        Knob("guest_max_upload_bytes", 5 * 1024 * 1024, int, "Largest guest upload in bytes"),
        Knob("guest_rate_limit_per_minute", 5, int, "Guest uploads per minute per IP address"),
        Knob(
            "repair_jobs_per_node",
            4,
            int,
            "Repair pushes queued per node at a time",
            "Re-replication (a lost node, a raised factor, a drain) queues at most this many "
            "replica pushes on one source node's background lane; the rest wait for the next "
            "copy check, so fresh uploads' copies never queue behind a backlog. 0 = no limit.",
        ),
        Knob(
            "placement_strategy",
            "least_used",
            str,
            "Placement strategy",
            choices=("least_used", "priority", "weighted_random"),
        ),
    )
}


def coerce(knob: Knob, value: Any) -> Any:
    if knob.kind is bool:
        if isinstance(value, str):
            return value.lower() in ("1", "true", "yes", "on")
        return bool(value)
    if knob.kind is int:
        number = int(value)
        if number < 0:
            raise ValueError(f"{knob.label} must not be negative")
        return number
    if knob.kind is list:
        if isinstance(value, str):
            return [v.strip() for v in value.replace(",", " ").split() if v.strip()]
        return list(value)
    text = str(value)
    if knob.choices and text not in knob.choices:
        raise ValueError(f"{knob.label} must be one of {', '.join(knob.choices)}")
    return text


# Tortoise's JSONField reads a bare str as JSON text (and refuses "priority" as
# invalid JSON), so a text knob is stored wrapped as {"text": value}.
_TEXT = "text"


def _stored(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {_TEXT}:
        return value[_TEXT]
    return value


async def get_all() -> dict[str, Any]:
    values = {k: knob.default for k, knob in KNOBS.items()}
    for row in await Setting.all():
        if row.key in KNOBS:
            values[row.key] = _stored(row.value)
    return values


async def get(key: str) -> Any:
    row = await Setting.get_or_none(key=key)
    return _stored(row.value) if row is not None else KNOBS[key].default


async def put(key: str, value: Any, *, by: str = "") -> Any:
    knob = KNOBS[key]
    typed = coerce(knob, value)
    stored = {_TEXT: typed} if isinstance(typed, str) else typed
    # Single statements, not update_or_create's read-then-write transaction: on SQLite a
    # transaction that read before another process wrote cannot take the write lock
    # ("database is locked" at once, no waiting), while a lone UPDATE or INSERT waits.
    fields: dict[str, Any] = {"value": stored, "updated_by": by, "updated_at": datetime.now(UTC)}
    if not await Setting.filter(key=key).update(**fields):
        try:
            await Setting.create(key=key, **fields)
        except IntegrityError:  # created by another process meanwhile
            await Setting.filter(key=key).update(**fields)
    return typed
