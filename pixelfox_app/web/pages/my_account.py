"""The account page ``/account``: storage against the quota, default visibility, password, tokens.

Each card is a partial its form swaps with htmx (and a plain form post
redirects back to the page): the default visibility new uploads get, the
password (changing it ends every other session of the account), and the
personal API tokens, whose plaintext shows once, in the answer that made it.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, g, redirect, request

from pixelfox_protocol.errors import APIError

from ...accounts.quota import usage
from ...auth.accounts import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, AccountError, check_password
from ...auth.login import change_own_password
from ...auth.tokens import (
    MAX_TOKEN_DAYS,
    create_api_token,
    expiry_after,
    is_expired,
    revoke_api_token,
)
from ...models import ApiToken, User, Visibility
from ..access import page_login_required
from ..render import is_htmx, page

blueprint = Blueprint("account_page", __name__)

# What the token form offers (days; None: until revoked).
TOKEN_LIFETIMES: tuple[tuple[int | None, str], ...] = (
    (None, "never (until revoked)"),
    (7, "in 7 days"),
    (30, "in 30 days"),
    (90, "in 90 days"),
    (365, "in a year"),
)
VISIBILITY_CHOICES = (
    (Visibility.PUBLIC, "Public"),
    (Visibility.UNLISTED, "Unlisted (anyone with the link)"),
    (Visibility.PRIVATE, "Private (only me, with expiring links)"),
)


async def _tokens(user: User) -> list[ApiToken]:
    return await ApiToken.filter(user=user, revoked_at=None).order_by("-id")


async def _context(user: User, **extra: Any) -> dict[str, Any]:
    used = await usage(user)
    quota = user.quota_bytes
    values: dict[str, Any] = {
        "usage": used,
        "quota": quota,
        "used_pct": 100.0 * used.bytes / quota if quota else None,
        "tokens": await _tokens(user),
        "is_expired": is_expired,
        "lifetimes": TOKEN_LIFETIMES,
        "visibilities": VISIBILITY_CHOICES,
        "default_visibility": user.default_visibility,
        "min_password": MIN_PASSWORD_LENGTH,
        "max_password": MAX_PASSWORD_LENGTH,
        "new_token": None,
        "error": "",
        "message": "",
    }
    values.update(extra)
    return values


async def _card(partial: str, status: int = 200, **extra: Any) -> Any:
    """The card alone for htmx; a plain form post goes back to the page.

    A refusal is a 422 with the card saying why (htmx swaps 422 answers in).
    """
    if not is_htmx():
        return redirect("/account")
    user = await User.get(id=g.user.id)
    body = await page(partial, **await _context(user, **extra))
    return body, status


@blueprint.get("/account")
@page_login_required
async def account():
    """Storage used against the quota, default visibility, password, API tokens."""
    return await page("account/index.html", **await _context(g.user))


@blueprint.post("/account/visibility")
@page_login_required
async def set_default_visibility():
    """The visibility an upload gets when it names none (the upload page preselects it)."""
    raw = (await request.form).get("default_visibility", "")
    try:
        chosen = Visibility(raw)
    except ValueError:
        return await _card("account/_visibility.html", 422, error="Choose one of the three.")
    await User.filter(id=g.user.id).update(default_visibility=chosen)
    return await _card("account/_visibility.html", message="Saved.")


@blueprint.post("/account/password")
@page_login_required
async def change_password():
    """Change the password; this browser stays logged in, every other session ends."""
    form = await request.form
    current = form.get("current_password", "")[:MAX_PASSWORD_LENGTH]
    new = form.get("new_password", "")[: MAX_PASSWORD_LENGTH + 1]
    card = "account/_password.html"
    if new != form.get("new_password2", ""):
        return await _card(card, 422, error="The two new passwords differ.")
    try:
        check_password(new)
        ended = await change_own_password(g.user, current, new)
    except AccountError as refused:
        return await _card(card, 422, error=str(refused).capitalize() + ".")
    except APIError as refused:  # a wrong current password, the login limit
        return await _card(card, 422, error=refused.message)
    others = f"{ended} other session{'s' if ended != 1 else ''}"
    return await _card(card, message=f"Password changed; {others} logged out.")


@blueprint.post("/account/tokens")
@page_login_required
async def new_token():
    """Create a personal API token; its plaintext is in this answer only."""
    form = await request.form
    name = form.get("name", "").strip()
    raw_days = form.get("expires_in_days", "").strip()
    card = "account/_tokens.html"
    if not 1 <= len(name) <= 100:
        return await _card(card, 422, error="Give the token a name of 1 to 100 characters.")
    days = int(raw_days) if raw_days.isdigit() else None
    if raw_days and (days is None or not 1 <= days <= MAX_TOKEN_DAYS):
        return await _card(card, 422, error=f"A lifetime is 1 to {MAX_TOKEN_DAYS} days.")
    if not is_htmx():
        # A plaintext that a redirect would lose is never made.
        return redirect("/account")
    token = await create_api_token(g.user, name, expires_at=expiry_after(days))
    return await _card(card, 201, new_token=token, new_token_name=name)


@blueprint.post("/account/tokens/<int:token_id>/revoke")
@page_login_required
async def revoke_token(token_id: int):
    """Revoke one of the user's tokens: refused from the next request on."""
    if not await revoke_api_token(token_id, g.user):
        raise APIError("NOT_FOUND", "There is no such token.")
    return await _card("account/_tokens.html", message="Token revoked.")
