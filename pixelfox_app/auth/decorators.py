"""Route policies. Stack them directly under the route decorator, before validation:

    @blueprint.post("/…")
    @login_required
    @validate_request(Body)
    async def view(data: Body): ...

so that a caller without rights learns that first, whatever the body. Each
decorator marks the view with ``auth_policy`` for the route invariant tests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from quart import current_app, g, request

from pixelfox_common import logs
from pixelfox_protocol.errors import APIError

from ..nodes import authenticate_node
from .current import authenticated_node, current_user

P = ParamSpec("P")
T = TypeVar("T")


def _mark(view: Any, policy: str) -> None:
    view.auth_policy = policy


def login_required(func: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """An active user (cookie or API token) is required; it is put on ``g.user``."""

    @wraps(func)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        user = await current_user()
        if user is None:
            raise APIError("AUTH_REQUIRED")
        if not user.is_active:
            raise APIError("FORBIDDEN", "This account is disabled.")
        g.user = user
        logs.bind(user_id=user.id)  # every later log line of this request names the user
        return await current_app.ensure_async(func)(*args, **kwargs)

    _mark(wrapper, "login")
    return wrapper


def admin_required(func: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """An active admin is required."""

    @wraps(func)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        user = await current_user()
        if user is None:
            raise APIError("AUTH_REQUIRED")
        if not user.is_active or not user.is_admin:
            raise APIError("FORBIDDEN")
        g.user = user
        logs.bind(user_id=user.id)  # every later log line of this request names the user
        return await current_app.ensure_async(func)(*args, **kwargs)

    _mark(wrapper, "admin")
    return wrapper


def node_required(func: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """A storage node's credential is required; the node is put on ``g.node``."""

    @wraps(func)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        # The CSRF check may have authenticated it already (one lookup per request).
        g.node = authenticated_node() or await authenticate_node(
            request.headers.get("Authorization", "")
        )
        logs.bind(node_id=g.node.node_id)
        return await current_app.ensure_async(func)(*args, **kwargs)

    _mark(wrapper, "node")
    return wrapper


def public(func: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Marks a view as deliberately open to anyone (for the route invariant tests)."""
    _mark(func, "public")
    return func
