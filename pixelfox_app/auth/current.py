"""Who is behind a request: a server-side browser session, a personal API token, or a node."""

from __future__ import annotations

from quart import g, request

from pixelfox_protocol.errors import APIError

from ..models import StorageNode, User
from ..nodes import authenticate_node, parse_node_authorization
from . import sessions
from .login import session_key
from .tokens import looks_like_api_token, user_for_api_token

_CACHE = "pixelfox_user"


def bearer_value() -> str | None:
    """The value of ``Authorization: Bearer <value>``, if that is the scheme used."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _api_token() -> str | None:
    bearer = bearer_value()
    return bearer if bearer is not None and looks_like_api_token(bearer) else None


async def current_user() -> User | None:
    """The requesting user (active or not), or None; looked up once per request.

    A ``pf_`` bearer token wins over the cookie, and a bad one is not rescued by
    a cookie: a script that sends a revoked token must learn that it is revoked.
    Other Authorization values (upload tokens on the proxy path, ``Basic …``)
    identify nobody here, so the cookie decides, and the CSRF check treats the
    request as the cookie request it is.
    """
    if _CACHE in g:
        cached: User | None = g.get(_CACHE)
        return cached
    user: User | None = None
    token = _api_token()
    if token is not None:
        user = await user_for_api_token(token)
        g.auth_method = "api_token"
    else:
        key = session_key()
        if key:
            user = await sessions.user_for(key)
            g.auth_method = "session"
    setattr(g, _CACHE, user)
    return user


async def proven_by_credential() -> bool:
    """True when the request proves its caller with a credential no foreign page can send.

    That is a valid personal API token or a valid node credential; such a request
    does not ride on the browser's cookies. An invalid ``pf_`` token is refused
    here (401 AUTH_REQUIRED): the cookie never stands in for it. Anything else
    (no header, ``Basic …``, an upload token, a wrong node credential) is False.
    """
    if _api_token() is not None:
        if await current_user() is None:
            raise APIError(
                "AUTH_REQUIRED", "The API token is not valid (mistyped, revoked or expired)."
            )
        return True
    header = request.headers.get("Authorization", "")
    if parse_node_authorization(header) is None:
        return False
    try:
        g.node = await authenticate_node(header)
    except APIError:
        return False  # the node route refuses it itself; for the cookie rule it proves nothing
    return True


def authenticated_node() -> StorageNode | None:
    """The node :func:`proven_by_credential` authenticated for this request, if any."""
    node: StorageNode | None = g.get("node")
    return node
