"""Logging in with a password: one path for the JSON login and the login form.

Guessing must be slow, but a guesser must not be able to lock the owner out.
So every address gets :data:`LOGIN_PER_IP_PER_MINUTE` tries, and an account
gets :data:`LOGIN_PER_ACCOUNT_PER_MINUTE` tries from addresses that have not
logged in to it lately. An address with a recent successful login for the
account (a row in ``user_sessions``, kept 30 days, see
:func:`.sessions.is_known_address`) is spared the account's limit: whoever
hammers ``admin`` from elsewhere is refused, the admin at their usual address
still gets in. (From a new address while the account is under attack the admin
waits like everyone else: the price of a limit a botnet cannot simply outrun.)
"""

from __future__ import annotations

from quart import current_app, g
from quart_auth import AuthUser, login_user, logout_user
from quart_auth import current_user as cookie_user

from pixelfox_protocol.errors import APIError

from ..models import User
from . import sessions
from .passwords import hash_in_thread, needs_rehash, verify_in_thread
from .ratelimit import rate_limits, request_client_address

LOGIN_PER_IP_PER_MINUTE = 10
LOGIN_PER_ACCOUNT_PER_MINUTE = 10


async def check_password_login(username: str, password: str) -> User:
    """The active user these credentials prove, or an APIError saying why not."""
    if not current_app.secret_key:
        raise APIError("UNAVAILABLE", "Login is not configured: PIXELFOX_SECRET_KEY is not set.")
    address = request_client_address()
    limits = rate_limits()
    await limits.hit("login-ip", LOGIN_PER_IP_PER_MINUTE, address)
    user = await User.get_or_none(username=username)
    # Asked for unknown names too, so that a missing account costs the same work.
    known = await sessions.is_known_address(user.id if user else 0, address)
    if user is None or not known:
        await limits.hit("login-user", LOGIN_PER_ACCOUNT_PER_MINUTE, username.lower())
    if not await verify_in_thread(user.password_hash if user else None, password) or not user:
        raise APIError("AUTH_REQUIRED", "Wrong username or password.")
    if not user.is_active:
        raise APIError("FORBIDDEN", "This account is disabled.")
    if needs_rehash(user.password_hash):
        await User.filter(id=user.id).update(password_hash=await hash_in_thread(password))
    return user


async def change_own_password(user: User, current: str, new: str) -> int:
    """Replace the user's password; every other session ends, the request's own stays.

    The current password is a guess like a login's: the same per-address limit.
    Returns how many sessions ended. Personal API tokens are not touched.
    """
    await rate_limits().hit("login-ip", LOGIN_PER_IP_PER_MINUTE, request_client_address())
    if not await verify_in_thread(user.password_hash, current):
        raise APIError("FORBIDDEN", "The current password is wrong.")
    new_hash = await hash_in_thread(new)
    await User.filter(id=user.id).update(password_hash=new_hash)
    keep = session_key() if g.get("auth_method") == "session" else None
    return await sessions.end_all(user, keep=keep)


async def start_session(user: User) -> str:
    """Open a server-side session for ``user`` and set its cookie; returns the session key."""
    key = await sessions.start(user, request_client_address())
    login_user(AuthUser(key), remember=True)
    return key


def session_key() -> str:
    """The session key of the request's cookie ('' without one); valid or not."""
    try:
        return cookie_user.auth_id or ""
    except Exception:  # quart-auth not installed in this app: nobody is logged in
        return ""


async def end_session() -> None:
    """End the request's session on the server and drop its cookie."""
    await sessions.end(session_key())
    logout_user()
