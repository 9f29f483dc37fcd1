"""The user behind a request: a quart-auth session cookie or a personal API token."""

from __future__ import annotations

from quart import g, request
from quart_auth import current_user as cookie_user

from ..models import User
from .tokens import looks_like_api_token, user_for_api_token

_CACHE = "pixelfox_user"


def bearer_value() -> str | None:
    """The value of ``Authorization: Bearer <value>``, if that is the scheme used."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


async def current_user() -> User | None:
    """The requesting user (active or not), or None; looked up once per request.

    A ``pf_`` bearer token wins over the cookie, and a bad one is not rescued by
    a cookie: a script that sends a revoked token must learn that it is revoked.
    Other bearer values (upload tokens on the proxy path) are left to their route.
    """
    if _CACHE in g:
        cached: User | None = g.get(_CACHE)
        return cached
    user: User | None = None
    bearer = bearer_value()
    if bearer is not None and looks_like_api_token(bearer):
        user = await user_for_api_token(bearer)
        g.auth_method = "api_token"
    else:
        auth_id = cookie_user.auth_id
        if auth_id is not None and auth_id.isdigit():
            user = await User.get_or_none(id=int(auth_id))
            g.auth_method = "session"
    setattr(g, _CACHE, user)
    return user
