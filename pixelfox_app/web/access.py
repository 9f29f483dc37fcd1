"""Who may see a page: the JSON API's policies, answered the way a browser needs.

The API answers a missing login with 401 JSON; a page sends the browser to
the login form instead (``HX-Redirect`` for an htmx request, which would
otherwise swap the login page into a table cell). Views are marked with
``auth_policy`` like the API's decorators, for the route invariant tests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar
from urllib.parse import quote

from quart import Response, current_app, g, redirect, request

from ..auth.current import current_user
from ..models import User
from .render import error_page, is_htmx

P = ParamSpec("P")
T = TypeVar("T")


def safe_next(target: str | None, default: str = "/upload") -> str:
    """A local path to go to after login; anything else (``//evil``, ``https://…``) → default."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def _to_login() -> Response:
    target = f"/login?next={quote(request.full_path.rstrip('?'), safe='/')}"
    if is_htmx():
        response = Response("", 204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)  # type: ignore[return-value]


async def _guard(admin: bool) -> Response | tuple[str, int] | None:
    user: User | None = await current_user()
    if user is None or not user.is_active:
        return _to_login()
    if admin and not user.is_admin:
        return await error_page(403, "Admins only", "This page belongs to the operators.")
    g.user = user
    return None


def _policy(admin: bool) -> Callable[[Callable[P, Awaitable[T]]], Callable[P, Awaitable[Any]]]:
    def decorator(func: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[Any]]:
        @wraps(func)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
            refused = await _guard(admin)
            if refused is not None:
                return refused
            return await current_app.ensure_async(func)(*args, **kwargs)

        wrapper.auth_policy = "admin" if admin else "login"  # type: ignore[attr-defined]
        return wrapper

    return decorator


page_login_required = _policy(admin=False)
page_admin_required = _policy(admin=True)
