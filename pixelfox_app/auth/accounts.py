"""User accounts as the operator makes them: create a user or admin, set a password."""

from __future__ import annotations

import re

from tortoise.exceptions import IntegrityError

from ..models import User
from . import sessions
from .passwords import hash_in_thread

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MIN_PASSWORD_LENGTH = 8
# argon2 hashes any length, but a megabyte "password" is a denial of service.
MAX_PASSWORD_LENGTH = 1024


class AccountError(ValueError):
    """A request the account rules refuse; the message is one line meant for a person."""


def check_username(username: str) -> str:
    if not USERNAME_PATTERN.match(username):
        raise AccountError(
            "a username is 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return username


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"a password has at most {MAX_PASSWORD_LENGTH} characters")
    return password


async def create_user(
    username: str,
    password: str,
    *,
    is_admin: bool = False,
    email: str | None = None,
    quota_bytes: int | None = None,
) -> User:
    """Create an account; refuses a name already taken in any letter case.

    ``quota_bytes``: what its images may take (None: no limit).
    """
    check_username(username)
    check_password(password)
    # "Ada" and "ada" side by side invite mistakes and impersonation.
    taken = await User.filter(username__iexact=username).first()
    if taken is not None:
        raise AccountError(f"user {taken.username!r} already exists")
    try:
        return await User.create(
            username=username,
            # On a hashing thread: sign-up is a public page, the event loop keeps serving.
            password_hash=await hash_in_thread(password),
            is_admin=is_admin,
            email=email or None,
            quota_bytes=quota_bytes,
        )
    except IntegrityError:  # created concurrently since the check above
        raise AccountError(f"user {username!r} already exists") from None


async def create_admin(username: str, password: str, *, email: str | None = None) -> User:
    """Create an account with the admin flag."""
    return await create_user(username, password, is_admin=True, email=email)


async def set_password(username: str, password: str, *, make_admin: bool = False) -> User:
    """Replace a user's password (and optionally grant admin); returns the user.

    Every browser session of the account ends: whoever knew the old password is out.
    """
    check_password(password)
    user = await User.get_or_none(username=username)
    if user is None:
        raise AccountError(f"no user named {username!r}")
    user.password_hash = await hash_in_thread(password)
    fields = ["password_hash"]
    if make_admin and not user.is_admin:
        user.is_admin = True
        fields.append("is_admin")
    await user.save(update_fields=fields)
    await sessions.end_all(user)
    return user
