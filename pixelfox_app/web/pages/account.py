"""Login and logout pages, and the CSRF token for scripts that use the cookie session."""

from __future__ import annotations

from quart import Blueprint, Response, current_app, redirect, render_template, request, session
from quart_auth import AuthUser, login_user, logout_user

from pixelfox_protocol.errors import APIError

from ...auth.current import current_user
from ...auth.decorators import public
from ...auth.passwords import hash_password, needs_rehash, verify_password
from ...auth.ratelimit import rate_limits, request_client_address
from ...auth.routes import LOGIN_PER_ACCOUNT_PER_MINUTE, LOGIN_PER_IP_PER_MINUTE
from ...models import User
from .. import csrf
from ..access import safe_next

blueprint = Blueprint("account", __name__)
api = Blueprint("web_api", __name__, url_prefix="/api/v1")


def _home(user: User) -> str:
    return "/admin/pools" if user.is_admin else "/upload"


async def _form(error: str = "", status: int = 200, username: str = "", next_: str = ""):
    body = await render_template("account/login.html", error=error, username=username, next=next_)
    return body, status


@blueprint.get("/login")
@public
async def login_page():
    """The login form (already logged in: straight on)."""
    user = await current_user()
    if user is not None and user.is_active:
        return redirect(safe_next(request.args.get("next"), _home(user)))
    return await _form(next_=request.args.get("next", ""))


@blueprint.post("/login")
@public
async def login():
    """Check the password (argon2), rate-limited per address and per account like the API."""
    form = await request.form
    username = form.get("username", "").strip()[:64]
    password = form.get("password", "")[:1024]
    next_ = form.get("next", "")
    if not current_app.secret_key:
        return await _form("Login is not configured: PIXELFOX_SECRET_KEY is not set.", 503)
    if not username or not password:
        return await _form("Enter your username and password.", 400, username, next_)
    try:
        # The same counters as the JSON login: two doors, one limit.
        limits = rate_limits()
        await limits.hit("login-ip", LOGIN_PER_IP_PER_MINUTE, request_client_address())
        await limits.hit("login-user", LOGIN_PER_ACCOUNT_PER_MINUTE, username.lower())
    except APIError as error:
        body, status = await _form(error.message, error.status, username, next_)
        return Response(body, status, headers=error.headers)
    user = await User.get_or_none(username=username)
    if not verify_password(user.password_hash if user else None, password) or user is None:
        return await _form("Wrong username or password.", 401, username, next_)
    if not user.is_active:
        return await _form("This account is disabled.", 403, username, next_)
    if needs_rehash(user.password_hash):
        await User.filter(id=user.id).update(password_hash=hash_password(password))
    login_user(AuthUser(str(user.id)), remember=True)
    # A fresh nonce per login: a token seen before the login is worth nothing after it.
    session.clear()
    return redirect(safe_next(next_, _home(user)))


@blueprint.post("/logout")
@public
async def logout():
    """End the session (a POST, so that a link on another site cannot log anyone out)."""
    logout_user()
    session.clear()
    return redirect("/login")


@api.get("/csrf")
@public
async def csrf_token():
    """The CSRF token a cookie-authenticated script sends as ``X-CSRF-Token``."""
    return {"csrf_token": csrf.generate_token(), "header": csrf.HEADER}
