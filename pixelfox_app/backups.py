"""The record of the last good database backup, kept in the database itself.

``pixelfox db backup`` (the appliance) and the ``postgresql`` role's nightly
dump (plain SQL from its cron script) write the same ``settings`` row,
``BACKUP_SETTING``: ``{"at": <Unix time>, "location": …, "size": …, "by": …}``.
It is not a knob (``pixelfox_app.knobs`` ignores keys it does not declare), so
the admin's settings page never shows or overwrites it. The control worker
publishes it as ``pixelfox_database_backup_last_success_timestamp_seconds``
every minute, and ``pixelfox doctor`` reads it for its backup line.

A restored database carries the record of the backup before the one it was
restored from: the next backup (or the next night) brings it up to date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from pixelfox_common import metrics

from .db import dialect
from .models import Setting

BACKUP_SETTING = "database_backup"
# How old the last good backup may be before the alert and the doctor complain.
BACKUP_MAX_AGE_SECONDS = 26 * 3600


@dataclass(frozen=True)
class BackupRecord:
    at: float
    location: str
    size: int
    by: str

    @property
    def age_seconds(self) -> float:
        return max(0.0, datetime.now(UTC).timestamp() - self.at)


async def record_backup(location: str, size: int, *, by: str, at: float | None = None) -> None:
    """Remember a good backup (single statements: see ``knobs.put`` for why)."""
    value = {
        "at": datetime.now(UTC).timestamp() if at is None else at,
        "location": location,
        "size": size,
        "by": by,
    }
    fields: dict[str, Any] = {"value": value, "updated_by": by, "updated_at": datetime.now(UTC)}
    if not await Setting.filter(key=BACKUP_SETTING).update(**fields):
        try:
            await Setting.create(key=BACKUP_SETTING, **fields)
        except IntegrityError:
            await Setting.filter(key=BACKUP_SETTING).update(**fields)


async def last_backup() -> BackupRecord | None:
    """The last good backup recorded, or None when there is none (or the row is not ours)."""
    row = await Setting.get_or_none(key=BACKUP_SETTING)
    value = row.value if row is not None else None
    if not isinstance(value, dict):
        return None
    try:
        return BackupRecord(
            float(value["at"]),
            str(value.get("location", "")),
            int(value.get("size", 0)),
            str(value.get("by", "")),
        )
    except (KeyError, TypeError, ValueError):
        return None


async def publish_backup_state(ctx: dict[str, Any]) -> dict[str, float]:
    """Cron of the control worker: the last good backup's time as a metric (0: none)."""
    record = await last_backup()
    at = record.at if record is not None else 0.0
    metrics.set_database_backup(dialect(ctx["settings"].effective_database_url), at)
    return {"at": at}
