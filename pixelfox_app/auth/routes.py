"""JSON login for the browser session cookie (the HTML pages come with the web UI)."""

from __future__ import annotations

from pydantic import BaseModel, Field
from quart import Blueprint, current_app, g
from quart_auth import AuthUser, login_user, logout_user
from quart_schema import validate_request, validate_response

from pixelfox_protocol.errors import APIError

from ..models import User
from .decorators import login_required, public
from .passwords import hash_password, needs_rehash, verify_password
from .ratelimit import rate_limits, request_client_address

blueprint = Blueprint("auth", __name__, url_prefix="/api/v1/auth")

# Guessing passwords must be slow from one address and against one account,
# however many addresses the guesser has.
LOGIN_PER_IP_PER_MINUTE = 10
LOGIN_PER_ACCOUNT_PER_MINUTE = 10


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class UserInfo(BaseModel):
    id: int
    username: str
    is_admin: bool


def _info(user: User) -> UserInfo:
    return UserInfo(id=user.id, username=user.username, is_admin=user.is_admin)


@blueprint.post("/login")
@public
@validate_request(LoginRequest)
@validate_response(UserInfo)
async def login(data: LoginRequest) -> UserInfo:
    """Check the password and set the session cookie."""
    if not current_app.secret_key:
        raise APIError("UNAVAILABLE", "Login is not configured: PIXELFOX_SECRET_KEY is not set.")
    limits = rate_limits()
    await limits.hit("login-ip", LOGIN_PER_IP_PER_MINUTE, request_client_address())
    await limits.hit("login-user", LOGIN_PER_ACCOUNT_PER_MINUTE, data.username.lower())
    user = await User.get_or_none(username=data.username)
    if not verify_password(user.password_hash if user else None, data.password) or user is None:
        raise APIError("AUTH_REQUIRED", "Wrong username or password.")
    if not user.is_active:
        raise APIError("FORBIDDEN", "This account is disabled.")
    if needs_rehash(user.password_hash):
        await User.filter(id=user.id).update(password_hash=hash_password(data.password))
    login_user(AuthUser(str(user.id)), remember=True)
    return _info(user)


@blueprint.post("/logout")
@public
async def logout() -> tuple[dict[str, bool], int]:
    """Drop the session cookie."""
    logout_user()
    return {"ok": True}, 200


@blueprint.get("/me")
@login_required
@validate_response(UserInfo)
async def me() -> UserInfo:
    """The logged-in user (cookie or API token)."""
    user: User = g.user
    return _info(user)
