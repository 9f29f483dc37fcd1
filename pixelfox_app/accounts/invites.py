"""Invite links of the ``invite`` sign-up mode: made by an admin, used up by sign-ups.

The link carries a random token; the table keeps only its SHA-256 (like API
tokens), so a database dump holds no working link. A use is taken by one
conditional UPDATE (``uses < max_uses``, not revoked, not expired): of two
sign-ups racing for the last use exactly one changes the row, whatever the
database; the other is refused with INVITE_INVALID.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from tortoise.expressions import F

from pixelfox_protocol.errors import APIError

from ..models import Invite, User

INVITE_PREFIX = "inv_"
MAX_INVITE_USES = 1000
MAX_INVITE_DAYS = 365
# A token is 43 characters after its prefix; anything far off is not worth a lookup.
_TOKEN_LENGTHS = range(20, 100)


def invite_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


async def create_invite(
    by: User | None, *, max_uses: int = 1, days: int = 7, note: str = ""
) -> tuple[str, Invite]:
    """A new invite; the token (for the link) is returned this once and never stored."""
    if not 1 <= max_uses <= MAX_INVITE_USES:
        raise ValueError(f"an invite signs up 1 to {MAX_INVITE_USES} accounts")
    if not 1 <= days <= MAX_INVITE_DAYS:
        raise ValueError(f"an invite is valid for 1 to {MAX_INVITE_DAYS} days")
    token = INVITE_PREFIX + secrets.token_urlsafe(32)
    invite = await Invite.create(
        token_hash=invite_hash(token),
        prefix=token[:12],
        note=note.strip()[:100],
        max_uses=max_uses,
        expires_at=_now() + timedelta(days=days),
        created_by=by,
    )
    return token, invite


def is_usable(invite: Invite, now: datetime | None = None) -> bool:
    return (
        invite.revoked_at is None
        and invite.uses < invite.max_uses
        and invite.expires_at > (now or _now())
    )


async def usable_invite(token: str) -> Invite | None:
    """The invite of ``token`` if it can still sign someone up (for showing the form)."""
    if not token.startswith(INVITE_PREFIX) or len(token) not in _TOKEN_LENGTHS:
        return None
    invite = await Invite.get_or_none(token_hash=invite_hash(token))
    return invite if invite is not None and is_usable(invite) else None


async def take_use(token: str) -> Invite:
    """Count one sign-up against the invite, or refuse (INVITE_INVALID).

    Call it inside the transaction that creates the account: if the account
    cannot be made (a taken name), the rollback gives the use back.
    """
    invite = await usable_invite(token)
    if invite is not None:
        taken = await Invite.filter(
            id=invite.id, revoked_at=None, uses__lt=F("max_uses"), expires_at__gt=_now()
        ).update(uses=F("uses") + 1)
        if taken == 1:
            return invite
    raise APIError("INVITE_INVALID")


async def revoke_invite(invite_id: int) -> bool:
    """Stop an invite from signing anyone else up; False when there was none to revoke."""
    return await Invite.filter(id=invite_id, revoked_at=None).update(revoked_at=_now()) > 0


async def open_invites() -> list[Invite]:
    """Invites not revoked, newest first (used-up and expired ones included, marked by
    :func:`is_usable`), so the admin sees what became of each."""
    return await Invite.filter(revoked_at=None).order_by("-id").limit(100)
