"""Browser sessions the server can end: a random key in the cookie, its hash in ``user_sessions``.

quart-auth signs the cookie, but a signed cookie alone is valid until it
expires, whatever happens to the account. Here the cookie's ``auth_id`` is a
random session key; a request is logged in only while the key's row is live.
Logging out ends this session; a password change ends every other session of
the account; disabling an account (or an operator setting a password) ends
them all.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from ..models import User, UserSession

# The login cookie and its row live this long; logging out ends both earlier.
SESSION_SECONDS = 30 * 24 * 3600
# A successful login from an address keeps that address "known" for its
# account this long (see :func:`is_known_address`).
KNOWN_ADDRESS_DAYS = 30


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


async def start(user: User, address: str) -> str:
    """Open a session for ``user``; returns the key the cookie carries (stored hashed only)."""
    now = _now()
    # Rows of expired sessions are useless; a login is a cheap moment to drop them.
    await UserSession.filter(expires_at__lt=now).delete()
    key = secrets.token_urlsafe(32)
    await UserSession.create(
        user=user,
        key_hash=_hash(key),
        address=address[:64],
        expires_at=now + timedelta(seconds=SESSION_SECONDS),
    )
    return key


async def user_for(key: str) -> User | None:
    """The user of a live session with this key (active or not), or None."""
    if not key:
        return None
    row = await UserSession.get_or_none(
        key_hash=_hash(key), ended_at=None, expires_at__gt=_now()
    ).select_related("user")
    return row.user if row is not None else None


async def end(key: str) -> None:
    """End the session with this key (logout); an unknown key is a no-op."""
    if key:
        await UserSession.filter(key_hash=_hash(key), ended_at=None).update(ended_at=_now())


async def end_all(user: User | int, *, keep: str | None = None) -> int:
    """End every live session of ``user`` except the one with key ``keep``; returns how many."""
    user_id = user if isinstance(user, int) else user.id
    live = UserSession.filter(user_id=user_id, ended_at=None)
    if keep:
        live = live.exclude(key_hash=_hash(keep))
    return await live.update(ended_at=_now())


async def live_count(user: User) -> int:
    return await UserSession.filter(user=user, ended_at=None, expires_at__gt=_now()).count()


async def is_known_address(user_id: int, address: str) -> bool:
    """True when ``address`` logged in to the user successfully within the last days."""
    since = _now() - timedelta(days=KNOWN_ADDRESS_DAYS)
    return await UserSession.exists(user_id=user_id, address=address[:64], created_at__gte=since)
