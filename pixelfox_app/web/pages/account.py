"""Login and logout pages, and the CSRF token for scripts that use the cookie session."""

from __future__ import annotations

from quart import Blueprint, Response, current_app, redirect, render_template, request, session

from pixelfox_protocol.errors import APIError

from ... import knobs
from ...auth.current import current_user
from ...auth.decorators import public
from ...auth.login import check_password_login, end_session, start_session
from ...models import User
from .. import csrf
from ..access import safe_next

blueprint = Blueprint("account", __name__)
api = Blueprint("web_api", __name__, url_prefix="/api/v1")


def _home(user: User) -> str:
    return "/admin/pools" if user.is_admin else "/upload"


async def _form(error: str = "", status: int = 200, username: str = "", next_: str = ""):
    body = await render_template(
        "account/login.html",
        error=error,
        username=username,
        next=next_,
        signup_open=await knobs.get("signup_mode") == "open",
    )
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
    """Check the password (argon2): the same path and limits as ``POST /api/v1/auth/login``."""
    form = await request.form
    username = form.get("username", "").strip()[:64]
    password = form.get("password", "")[:1024]
    next_ = form.get("next", "")
    if not current_app.secret_key:
        return await _form("Login is not configured: PIXELFOX_SECRET_KEY is not set.", 503)
    if not username or not password:
        return await _form("Enter your username and password.", 400, username, next_)
    try:
        user = await check_password_login(username, password)
    except APIError as error:
        body, status = await _form(error.message, error.status, username, next_)
        return Response(body, status, headers=error.headers)
    await start_session(user)
    # A fresh nonce per login: a token seen before the login is worth nothing after it.
    session.clear()
    return redirect(safe_next(next_, _home(user)))


@blueprint.post("/logout")
@public
async def logout():
    """End the session (a POST, so that a link on another site cannot log anyone out)."""
    await end_session()
    session.clear()
    return redirect("/login")


@api.get("/csrf")
@public
async def csrf_token():
    """The CSRF token a cookie-authenticated script sends as ``X-CSRF-Token``."""
    return {"csrf_token": csrf.generate_token(), "header": csrf.HEADER}
