"""The sign-up page ``/signup`` (and ``/signup?invite=…``), as the operator's mode allows."""

from __future__ import annotations

from quart import Blueprint, Response, redirect, render_template, request, session

from pixelfox_protocol.errors import APIError

from ...accounts.invites import usable_invite
from ...accounts.signup import SignupMode, sign_up, signup_mode
from ...auth.accounts import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from ...auth.current import current_user
from ...auth.decorators import public
from ...auth.login import start_session

blueprint = Blueprint("signup_pages", __name__)


async def _form(
    *, error: str = "", status: int = 200, username: str = "", invite: str = ""
) -> tuple[str, int]:
    mode = await signup_mode()
    body = await render_template(
        "account/signup.html",
        mode=mode.value,
        invite=invite,
        invite_ok=await _invite_ok(mode, invite),
        error=error,
        username=username,
        min_password=MIN_PASSWORD_LENGTH,
        max_password=MAX_PASSWORD_LENGTH,
    )
    return body, status


async def _invite_ok(mode: SignupMode, invite: str) -> bool:
    # In invite mode the form shows only with an invite that can still be used.
    return mode is SignupMode.OPEN or (bool(invite) and await usable_invite(invite) is not None)


@blueprint.get("/signup")
@public
async def signup_page():
    """The sign-up form; closed mode (or a bad invite) says so instead, with a 403."""
    user = await current_user()
    if user is not None and user.is_active:
        return redirect("/upload")
    invite = request.args.get("invite", "")[:200]
    mode = await signup_mode()
    refused = mode is SignupMode.CLOSED or not await _invite_ok(mode, invite)
    return await _form(status=403 if refused else 200, invite=invite)


@blueprint.post("/signup")
@public
async def signup():
    """Create the account and log it in (on to the upload page), or show why not."""
    form = await request.form
    username = form.get("username", "").strip()[:64]
    password = form.get("password", "")[: MAX_PASSWORD_LENGTH + 1]
    invite = form.get("invite", "")[:200]
    if password != form.get("password2", ""):
        return await _form(
            error="The two passwords differ.", status=422, username=username, invite=invite
        )
    try:
        user = await sign_up(username, password, invite)
    except APIError as error:
        body, status = await _form(
            error=error.message, status=error.status, username=username, invite=invite
        )
        return Response(body, status, headers=error.headers)
    await start_session(user)
    session.clear()  # a fresh CSRF nonce for the new login, as after a login
    return redirect("/upload")
