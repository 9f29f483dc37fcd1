"""The admin's Users page: search, 50 to a page, create, disable, admin flag, quota, password,
invites.

Each user's image count and bytes (originals and variants) come from one
grouped query for the whole page (pixelfox_app.accounts.quota.usage_of). A
row's buttons post with htmx and get the row back alone; creating a user
swaps the form and, out of band, the table. Disabling ends the user's
sessions at once. Nobody can disable themselves or take their own admin
flag: the last admin would lock everyone out.
"""

from __future__ import annotations

from typing import Any

from quart import current_app, g, request

from ...accounts.invites import (
    MAX_INVITE_DAYS,
    MAX_INVITE_USES,
    create_invite,
    is_usable,
    open_invites,
    revoke_invite,
)
from ...accounts.quota import Usage, usage_of
from ...accounts.signup import SignupMode, signup_mode
from ...auth import sessions
from ...auth.accounts import AccountError, create_user, set_password
from ...models import User
from ...upload.guest import GUEST_USERNAME
from ..access import page_admin_required
from ..render import error_page, page
from .base import blueprint
from .pool_form import human_size, parse_size

PAGE_SIZE = 50


def _page_number(raw: str | None) -> int:
    return max(1, min(int(raw), 100_000)) if raw and raw.isdigit() else 1


async def _table(query: str, number: int) -> dict[str, Any]:
    users = User.all()
    if query:
        users = users.filter(username__icontains=query)
    total = await users.count()
    pages = max(1, -(-total // PAGE_SIZE))
    number = min(number, pages)
    rows = await users.order_by("username").offset((number - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    usage = await usage_of([u.id for u in rows])
    return {
        "rows": [{"user": u, "usage": usage[u.id]} for u in rows],
        "query": query,
        "page_number": number,
        "pages": pages,
        "total": total,
        "human_size": human_size,
        "guest_username": GUEST_USERNAME,
    }


async def _invites() -> dict[str, Any]:
    return {
        "invite_mode": await signup_mode() is SignupMode.INVITE,
        "invites": await open_invites(),
        "is_usable": is_usable,
        "max_invite_uses": MAX_INVITE_USES,
        "max_invite_days": MAX_INVITE_DAYS,
        "public_domain": current_app.config["PIXELFOX"].public_domain.rstrip("/"),
    }


@blueprint.get("/users")
@page_admin_required
async def users_index():
    """Every account (search by name), 50 to a page; the table alone for htmx."""
    query = request.args.get("q", "").strip()[:64]
    table = await _table(query, _page_number(request.args.get("page")))
    return await page(
        "admin/users/index.html",
        "admin/users/_table.html",
        **table,
        **await _invites(),
        form={},
        errors={},
        created=None,
    )


def _parse_quota(raw: str) -> int | None:
    """``""`` → no limit; ``"10 GB"`` or bytes → that many bytes."""
    text = raw.strip()
    return parse_size(text) if text else None


@blueprint.post("/users")
@page_admin_required
async def create_account():
    """Create an account (optionally an admin, with a quota); the table shows it at once."""
    form = await request.form
    values = {k: form.get(k, "") for k in ("username", "password", "quota")}
    errors: dict[str, str] = {}
    try:
        quota = _parse_quota(values["quota"])
    except ValueError as exc:
        errors["quota"] = f"Quota: {exc}, or empty for no limit."
        quota = None
    created = None
    if not errors:
        try:
            created = await create_user(
                values["username"].strip(),
                values["password"],
                is_admin=form.get("is_admin") == "on",
                quota_bytes=quota,
            )
        except AccountError as exc:
            errors["username" if "user" in str(exc) else "password"] = str(exc).capitalize()
    context: dict[str, Any] = {
        "form": values if errors else {},
        "errors": errors,
        "created": created,
    }
    if errors:
        return await page("admin/users/_create.html", **context), 422
    table = await _table(values["username"].strip(), 1)
    return await page("admin/users/_created.html", **context, **table)


async def _user_row(user_id: int, error: str = "", notice: str = "") -> Any:
    user = await User.get_or_none(id=user_id)
    if user is None:
        return await error_page(404, "Not found", "There is no such user.")
    usage: Usage = (await usage_of([user.id]))[user.id]
    row = {"user": user, "usage": usage}
    return await page(
        "admin/users/_row.html",
        row=row,
        error=error,
        notice=notice,
        human_size=human_size,
        guest_username=GUEST_USERNAME,
    )


def _is_self(user_id: int) -> bool:
    return bool(user_id == g.user.id)


@blueprint.post("/users/<int:user_id>/disable")
@page_admin_required
async def disable_account(user_id: int):
    """Disable the account and end all its sessions now (its tokens are refused too)."""
    if _is_self(user_id):
        return await _user_row(user_id, "You cannot disable your own account.")
    if await User.filter(id=user_id).update(is_active=False):
        await sessions.end_all(user_id)
    return await _user_row(user_id)


@blueprint.post("/users/<int:user_id>/enable")
@page_admin_required
async def enable_account(user_id: int):
    """Enable the account again (it logs in afresh); never the reserved guest account."""
    await User.filter(id=user_id).exclude(username=GUEST_USERNAME).update(is_active=True)
    return await _user_row(user_id)


@blueprint.post("/users/<int:user_id>/admin")
@page_admin_required
async def set_admin(user_id: int):
    """Make the user an admin (``admin=on``) or take the flag away (``admin=off``)."""
    make = (await request.form).get("admin") == "on"
    if _is_self(user_id) and not make:
        return await _user_row(user_id, "You cannot take away your own admin flag.")
    await User.filter(id=user_id).exclude(username=GUEST_USERNAME).update(is_admin=make)
    return await _user_row(user_id)


@blueprint.post("/users/<int:user_id>/quota")
@page_admin_required
async def set_quota(user_id: int):
    """Set the user's storage quota (empty: no limit); it holds from the next upload on."""
    try:
        quota = _parse_quota((await request.form).get("quota", ""))
    except ValueError as exc:
        return await _user_row(user_id, f"Quota: {exc}, or empty for no limit.")
    await User.filter(id=user_id).update(quota_bytes=quota)
    return await _user_row(user_id)


@blueprint.post("/users/<int:user_id>/password")
@page_admin_required
async def set_user_password(user_id: int):
    """Give the user a new password (tell it to them); every session of theirs ends."""
    user = await User.get_or_none(id=user_id)
    if user is None or user.username == GUEST_USERNAME:
        return await error_page(404, "Not found", "There is no such user.")
    try:
        await set_password(user.username, (await request.form).get("password", ""))
    except AccountError as exc:
        return await _user_row(user_id, str(exc).capitalize() + ".")
    return await _user_row(user_id, notice="Password set; the user's sessions ended.")


async def _invite_card(status: int = 200, **extra: Any) -> Any:
    context = {**await _invites(), "new_invite": None, "invite_error": "", **extra}
    return await page("admin/users/_invites.html", **context), status


@blueprint.post("/users/invites")
@page_admin_required
async def new_invite():
    """Make an invite link (shown once): so many sign-ups within so many days."""
    form = await request.form
    try:
        token, _invite = await create_invite(
            g.user,
            max_uses=int(form.get("max_uses", "")),
            days=int(form.get("days", "")),
            note=form.get("note", ""),
        )
    except ValueError as exc:
        message = str(exc) if "invite" in str(exc) else "Uses and days are whole numbers."
        return await _invite_card(422, invite_error=message.capitalize() + ".")
    return await _invite_card(201, new_invite=token)


@blueprint.post("/users/invites/<int:invite_id>/revoke")
@page_admin_required
async def revoke_invite_link(invite_id: int):
    """Stop the invite link from signing anyone else up."""
    await revoke_invite(invite_id)
    return await _invite_card()
