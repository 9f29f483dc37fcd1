"""Personal API tokens for scripts: ``pf_<random>``, shown once, stored as SHA-256 only."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from ..models import ApiToken, User

TOKEN_PREFIX = "pf_"  # noqa: S105 - a marker, not a secret
# A token is looked up on every request; writing last_used_at each time would
# turn every read into a write, so it is refreshed at most this often.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_hash(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


# The longest lifetime a token may be given (a token without one lives until revoked).
MAX_TOKEN_DAYS = 3650


def expiry_after(days: int | None) -> datetime | None:
    """When a token made now for ``days`` days expires (None: never)."""
    return None if days is None else datetime.now(UTC) + timedelta(days=days)


async def create_api_token(user: User, name: str, *, expires_at: datetime | None = None) -> str:
    """Create a token for ``user``; the plaintext is returned once and never stored.

    After ``expires_at`` (if given) it is refused like a revoked token.
    """
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    await ApiToken.create(
        user=user,
        name=name,
        token_hash=token_hash(plaintext),
        prefix=plaintext[:12],
        expires_at=expires_at,
    )
    return plaintext


def looks_like_api_token(value: str) -> bool:
    return value.startswith(TOKEN_PREFIX) and 16 <= len(value) <= 128


async def user_for_api_token(plaintext: str) -> User | None:
    """The owner of a valid token (not revoked, not expired), or None."""
    if not looks_like_api_token(plaintext):
        return None
    token = await ApiToken.get_or_none(
        token_hash=token_hash(plaintext), revoked_at=None
    ).select_related("user")
    now = datetime.now(UTC)
    if token is None or is_expired(token, now):
        return None
    if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
        await ApiToken.filter(id=token.id).update(last_used_at=now)
    return token.user


async def revoke_api_token(token_id: int, user: User) -> bool:
    """Revoke one of ``user``'s tokens; False when there was none to revoke."""
    changed = await ApiToken.filter(id=token_id, user=user, revoked_at=None).update(
        revoked_at=datetime.now(UTC)
    )
    return changed > 0


def is_expired(token: ApiToken, now: datetime | None = None) -> bool:
    return token.expires_at is not None and token.expires_at <= (now or datetime.now(UTC))
