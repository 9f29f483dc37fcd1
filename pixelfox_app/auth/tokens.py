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


async def create_api_token(user: User, name: str) -> str:
    """Create a token for ``user``; the plaintext is returned once and never stored."""
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    await ApiToken.create(
        user=user, name=name, token_hash=token_hash(plaintext), prefix=plaintext[:12]
    )
    return plaintext


def looks_like_api_token(value: str) -> bool:
    return value.startswith(TOKEN_PREFIX) and 16 <= len(value) <= 128


async def user_for_api_token(plaintext: str) -> User | None:
    """The owner of a valid, unrevoked token, or None."""
    if not looks_like_api_token(plaintext):
        return None
    token = await ApiToken.get_or_none(
        token_hash=token_hash(plaintext), revoked_at=None
    ).select_related("user")
    if token is None:
        return None
    now = datetime.now(UTC)
    if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
        await ApiToken.filter(id=token.id).update(last_used_at=now)
    return token.user


async def revoke_api_token(token_id: int, user: User) -> bool:
    """Revoke one of ``user``'s tokens; False when there was none to revoke."""
    changed = await ApiToken.filter(id=token_id, user=user, revoked_at=None).update(
        revoked_at=datetime.now(UTC)
    )
    return changed > 0
