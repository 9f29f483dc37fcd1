"""Signing up, as the operator's ``signup_mode`` knob allows it.

* ``closed`` (the default): nobody signs up; admins create accounts (Users page, CLI).
* ``invite``: a username and password with a usable invite link's token.
* ``open``: a username and password, no e-mail.

Every attempt counts against a per-address limit (``signup_rate_limit_per_minute``)
before any work is done, so a script cannot fill the users table or the hashing
threads. A new account gets the ``signup_quota_bytes`` quota (0: none).
"""

from __future__ import annotations

from enum import StrEnum

from tortoise.transactions import in_transaction

from pixelfox_protocol.errors import APIError

from .. import knobs
from ..auth.accounts import AccountError, check_password, check_username, create_user
from ..auth.ratelimit import rate_limits, request_client_address
from ..models import User
from .invites import take_use


class SignupMode(StrEnum):
    CLOSED = "closed"
    INVITE = "invite"
    OPEN = "open"


async def signup_mode() -> SignupMode:
    return SignupMode(await knobs.get("signup_mode"))


async def sign_up(username: str, password: str, invite_token: str = "") -> User:
    """Create an account for a visitor, or an APIError saying why not.

    SIGNUP_CLOSED in closed mode, INVITE_INVALID without a usable invite in
    invite mode, RATE_LIMITED, VALIDATION_ERROR for a bad name or password.
    Nothing is stored unless the account is made: a refused sign-up leaves
    the invite's use count as it was.
    """
    mode = await signup_mode()
    if mode is SignupMode.CLOSED:
        raise APIError("SIGNUP_CLOSED")
    values = await knobs.get_all()
    await rate_limits().hit(
        "signup-ip", int(values["signup_rate_limit_per_minute"]), request_client_address()
    )
    if mode is SignupMode.INVITE and not invite_token:
        raise APIError("INVITE_INVALID", "Sign-up needs an invite link; ask an administrator.")
    try:
        check_username(username)
        check_password(password)
    except AccountError as error:
        raise APIError("VALIDATION_ERROR", str(error).capitalize() + ".") from None
    quota = int(values["signup_quota_bytes"]) or None
    async with in_transaction():
        if mode is SignupMode.INVITE:
            await take_use(invite_token)
        try:
            return await create_user(username, password, quota_bytes=quota)
        except AccountError:
            raise APIError(
                "VALIDATION_ERROR", "This username is taken; please choose another."
            ) from None
