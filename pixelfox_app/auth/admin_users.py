"""The admin's JSON API of user accounts (``/api/v1/admin/users``): list, disable, enable.

Disabling an account ends its browser sessions at once, so that enabling it
again later does not bring an old (perhaps stolen) cookie back to life. Its
personal API tokens are refused while it is disabled.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from quart import Blueprint, g
from quart_schema import validate_response

from pixelfox_protocol.errors import APIError

from ..models import User
from . import sessions
from .decorators import admin_required

blueprint = Blueprint("admin_users", __name__, url_prefix="/api/v1/admin/users")
# Ids are 32-bit in the database (routes below): a larger one is a 404, not a 500.


class UserRow(BaseModel):
    id: int
    username: str
    is_admin: bool
    is_active: bool
    created_at: datetime
    live_sessions: int


class UserList(BaseModel):
    users: list[UserRow]


async def _row(user: User) -> UserRow:
    return UserRow(
        id=user.id,
        username=user.username,
        is_admin=user.is_admin,
        is_active=user.is_active,
        created_at=user.created_at,
        live_sessions=await sessions.live_count(user),
    )


async def _user(user_id: int) -> User:
    user = await User.get_or_none(id=user_id)
    if user is None:
        raise APIError("NOT_FOUND", "No such user.")
    return user


@blueprint.get("")
@admin_required
@validate_response(UserList)
async def list_users() -> UserList:
    """Every account, with how many browser sessions it has open."""
    return UserList(users=[await _row(u) for u in await User.all().order_by("id")])


@blueprint.post("/<int:user_id>/disable")
@admin_required
@validate_response(UserRow)
async def disable_user(user_id: int) -> UserRow:
    """Disable an account and end all its sessions now."""
    user = await _user(user_id)
    if user.id == g.user.id:
        # The last admin disabling themselves would lock everyone out of the admin.
        raise APIError("FORBIDDEN", "You cannot disable your own account.")
    await User.filter(id=user.id).update(is_active=False)
    await sessions.end_all(user)
    user.is_active = False
    return await _row(user)


@blueprint.post("/<int:user_id>/enable")
@admin_required
@validate_response(UserRow)
async def enable_user(user_id: int) -> UserRow:
    """Enable an account again (it logs in afresh: its old sessions stay ended)."""
    user = await _user(user_id)
    await User.filter(id=user.id).update(is_active=True)
    user.is_active = True
    return await _row(user)
