"""What a user keeps and may keep: bytes of originals and variants against the quota.

Usage counts what a pool's usage counts (pixelfox_app.moves.control.bytes_on):
each image's original and every variant, the primary copy only (replicas are
the operator's redundancy, not the user's storage). Images in the trash count
until they are purged: their files are still on disk ("Delete now" frees them
at once). A user's count and bytes, or every listed user's, come from one
grouped query: a page of 50 users is one round trip, not 50.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise import connections
from tortoise.functions import Sum

from pixelfox_protocol.errors import APIError

from ..models import UploadSession, UploadSessionState, User
from ..sizes import filesize

# Per owner: images, and the bytes of their originals plus their variants (the
# variants' sum per image is an index range of image_variants' (image_id, …) key).
_USAGE_SQL = """
SELECT i.owner_id AS owner_id, COUNT(*) AS images,
       SUM(i.size + COALESCE(
           (SELECT SUM(v.size) FROM image_variants AS v WHERE v.image_id = i.id), 0
       )) AS bytes
FROM images AS i
WHERE i.owner_id IN ({ids})
GROUP BY i.owner_id
"""


@dataclass(frozen=True)
class Usage:
    images: int = 0
    bytes: int = 0


def _placeholders(client: Any, count: int) -> str:
    if client.capabilities.dialect == "postgres":
        return ", ".join(f"${n}" for n in range(1, count + 1))
    return ", ".join("?" * count)


async def usage_of(user_ids: list[int]) -> dict[int, Usage]:
    """Images and bytes of each of ``user_ids`` (one query); users without images get zeros."""
    ids = sorted({int(i) for i in user_ids})
    if not ids:
        return {}
    client: Any = connections.get("default")
    sql = _USAGE_SQL.format(ids=_placeholders(client, len(ids)))
    rows = await client.execute_query_dict(sql, ids)
    found = {int(r["owner_id"]): Usage(int(r["images"] or 0), int(r["bytes"] or 0)) for r in rows}
    return {i: found.get(i, Usage()) for i in ids}


async def usage(user: User) -> Usage:
    """The user's images and their bytes."""
    return (await usage_of([user.id]))[user.id]


async def _pending_bytes(user: User) -> int:
    # Sessions handed out but not yet completed: a burst of parallel sessions must
    # not each pass the check against the same free space.
    row = (
        await UploadSession.filter(
            user_id=user.id, state=UploadSessionState.OPEN, expires_at__gt=datetime.now(UTC)
        )
        .annotate(total=Sum("declared_size"))
        .first()
        .values("total")
    )
    return int((row or {}).get("total") or 0)


async def check_quota(user: User, file_size: int) -> None:
    """Refuse (403 QUOTA_EXCEEDED) an upload that would take the user past the quota."""
    if user.quota_bytes is None:
        return
    used = (await usage(user)).bytes + await _pending_bytes(user)
    if used + file_size > user.quota_bytes:
        free = max(0, user.quota_bytes - used)
        raise APIError(
            "QUOTA_EXCEEDED",
            f"This upload needs {filesize(file_size)}, but only {filesize(free)} of your "
            f"{filesize(user.quota_bytes)} storage is free: delete some images first.",
            details={"quota_bytes": user.quota_bytes, "used_bytes": used, "file_size": file_size},
        )
