"""The account API: JSON login for the session cookie, logout, password, personal API tokens.

(The HTML login form comes with the web UI and shares :mod:`.login`.)
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from quart import Blueprint, g
from quart_schema import validate_request, validate_response

from pixelfox_protocol.errors import APIError

from ..models import ApiToken, User
from .accounts import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from .decorators import login_required, public
from .login import change_own_password, check_password_login, end_session, start_session
from .tokens import (
    MAX_TOKEN_DAYS,
    create_api_token,
    expiry_after,
    is_expired,
    revoke_api_token,
    token_hash,
)

blueprint = Blueprint("auth", __name__, url_prefix="/api/v1/auth")


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class UserInfo(BaseModel):
    id: int
    username: str
    is_admin: bool


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    new_password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)


class PasswordChanged(BaseModel):
    ok: bool = True
    ended_sessions: int = Field(description="Other sessions of the account that were logged out")


class TokenRequest(BaseModel):
    name: str = Field(min_length=1, max_length=100, description="What the token is for")
    expires_in_days: int | None = Field(
        None,
        ge=1,
        le=MAX_TOKEN_DAYS,
        description="Refused after this many days; omitted: valid until revoked",
    )


class TokenInfo(BaseModel):
    id: int
    name: str
    prefix: str = Field(description="The token's first characters, to recognise it")
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None = Field(description="None: valid until revoked")
    expired: bool


class NewToken(TokenInfo):
    token: str = Field(description="The token itself: shown this once, stored only as a hash")


class TokenList(BaseModel):
    tokens: list[TokenInfo]


def _info(user: User) -> UserInfo:
    return UserInfo(id=user.id, username=user.username, is_admin=user.is_admin)


def _token_info(token: ApiToken) -> TokenInfo:
    return TokenInfo(
        id=token.id,
        name=token.name,
        prefix=token.prefix,
        created_at=token.created_at,
        last_used_at=token.last_used_at,
        expires_at=token.expires_at,
        expired=is_expired(token),
    )


@blueprint.post("/login")
@public
@validate_request(LoginRequest)
@validate_response(UserInfo)
async def login(data: LoginRequest) -> UserInfo:
    """Check the password and set the session cookie."""
    user = await check_password_login(data.username, data.password)
    await start_session(user)
    return _info(user)


@blueprint.post("/logout")
@public
async def logout() -> tuple[dict[str, bool], int]:
    """End this session on the server (its cookie stops working at once) and drop the cookie."""
    await end_session()
    return {"ok": True}, 200


@blueprint.get("/me")
@login_required
@validate_response(UserInfo)
async def me() -> UserInfo:
    """The logged-in user (cookie or API token)."""
    user: User = g.user
    return _info(user)


@blueprint.post("/password")
@login_required
@validate_request(PasswordChange)
@validate_response(PasswordChanged)
async def change_password(data: PasswordChange) -> PasswordChanged:
    """Change the password; every other session of the account ends, this one stays.

    Personal API tokens are not touched: revoke them one by one if they leaked too.
    """
    return PasswordChanged(
        ended_sessions=await change_own_password(g.user, data.current_password, data.new_password)
    )


@blueprint.get("/tokens")
@login_required
@validate_response(TokenList)
async def list_tokens() -> TokenList:
    """The caller's personal API tokens that are not revoked (never the tokens themselves).

    Expired ones are listed (``expired``: true) until revoked, so that a script's
    owner sees why it is refused.
    """
    rows = await ApiToken.filter(user=g.user, revoked_at=None).order_by("id")
    return TokenList(tokens=[_token_info(t) for t in rows])


@blueprint.post("/tokens")
@login_required
@validate_request(TokenRequest)
@validate_response(NewToken, 201)
async def new_token(data: TokenRequest) -> tuple[NewToken, int]:
    """Create a personal API token (``Authorization: Bearer pf_…``) for scripts.

    Only a password login may create one: a leaked token must not be able to
    mint the tokens that would outlive its revocation.
    """
    if g.get("auth_method") != "session":
        raise APIError("FORBIDDEN", "Log in with your password to create API tokens.")
    plaintext = await create_api_token(
        g.user, data.name, expires_at=expiry_after(data.expires_in_days)
    )
    row = await ApiToken.get(token_hash=token_hash(plaintext))
    return NewToken(token=plaintext, **_token_info(row).model_dump()), 201


# Ids are 32-bit in the database: a larger one is simply not there (404, not a 500).
@blueprint.delete("/tokens/<int:token_id>")
@login_required
async def delete_token(token_id: int) -> tuple[dict[str, bool], int]:
    """Revoke one of the caller's tokens; it is refused from the next request on."""
    if not await revoke_api_token(token_id, g.user):
        raise APIError("NOT_FOUND", "No such token.")
    return {"ok": True}, 200
