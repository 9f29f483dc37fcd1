"""The account page: storage against the quota, default visibility, password, API tokens."""

from __future__ import annotations

import re

from quart.testing import QuartClient

from pixelfox_app.auth.passwords import verify_password
from pixelfox_app.auth.tokens import user_for_api_token
from pixelfox_app.models import ApiToken, User, UserSession
from tests.image_rows import stored_image
from tests.web.conftest import PASSWORD, Web, text_of

NEW = "a much better passphrase"


async def _logged_in(web: Web, username: str = "ada") -> User:
    user = await web.user(username)
    response = await web.login(username)
    assert response.status_code == 302
    return user


async def test_the_page_shows_storage_used_against_the_quota(web: Web):
    user = await _logged_in(web)
    pool = await web.pool()
    await User.filter(id=user.id).update(quota_bytes=10 << 20)
    await stored_image(user, pool, 5 << 20, [])

    status, html = await web.get("/account")

    assert status == 200
    words = text_of(html)
    assert "5.0 MB of 10.0 MB in 1 image" in words
    assert 'width="50.0"' in html  # the usage bar


async def test_without_a_quota_the_page_says_there_is_no_limit(web: Web):
    await _logged_in(web)
    _, html = await web.get("/account")
    assert "0 B (no limit) in 0 images" in text_of(html)


async def test_nobody_logged_in_is_sent_to_the_login_form(web: Web):
    response = await web.client.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/account"


async def test_the_default_visibility_is_saved_and_preselected_on_the_upload_page(web: Web):
    user = await _logged_in(web)

    saved = await web.post("/account/visibility", {"default_visibility": "unlisted"}, htmx=True)
    bad = await web.post("/account/visibility", {"default_visibility": "secret"}, htmx=True)
    _, upload = await web.get("/upload")

    assert saved.status_code == 200
    assert "Saved." in await saved.get_data(as_text=True)
    assert bad.status_code == 422
    assert (await User.get(id=user.id)).default_visibility == "unlisted"
    assert re.search(r'<option value="unlisted"\s+selected>', upload)


async def test_a_password_change_keeps_this_browser_and_logs_out_the_others(web: Web):
    user = await _logged_in(web)
    other: QuartClient = web.app.test_client()
    await other.post(
        "/api/v1/auth/login", json={"username": "ada", "password": PASSWORD}
    )  # a second browser (its first request carries no cookie, so no CSRF token yet)
    assert (await other.get("/api/v1/auth/me")).status_code == 200

    changed = await web.post(
        "/account/password",
        {"current_password": PASSWORD, "new_password": NEW, "new_password2": NEW},
        htmx=True,
    )

    assert changed.status_code == 200
    assert "1 other session logged out" in text_of(await changed.get_data(as_text=True))
    assert (await other.get("/api/v1/auth/me")).status_code == 401
    assert (await web.client.get("/api/v1/auth/me")).status_code == 200
    assert verify_password((await User.get(id=user.id)).password_hash, NEW)
    assert await UserSession.filter(user_id=user.id, ended_at=None).count() == 1


async def test_a_wrong_current_password_or_a_short_new_one_changes_nothing(web: Web):
    user = await _logged_in(web)
    before = (await User.get(id=user.id)).password_hash

    wrong = await web.post(
        "/account/password",
        {"current_password": "guess", "new_password": NEW, "new_password2": NEW},
        htmx=True,
    )
    short = await web.post(
        "/account/password",
        {"current_password": PASSWORD, "new_password": "short", "new_password2": "short"},
        htmx=True,
    )
    differ = await web.post(
        "/account/password",
        {"current_password": PASSWORD, "new_password": NEW, "new_password2": NEW + "x"},
        htmx=True,
    )

    assert wrong.status_code == short.status_code == differ.status_code == 422
    assert "current password is wrong" in text_of(await wrong.get_data(as_text=True))
    assert "at least 8 characters" in text_of(await short.get_data(as_text=True))
    assert "differ" in text_of(await differ.get_data(as_text=True))
    assert (await User.get(id=user.id)).password_hash == before


async def test_a_token_is_shown_once_works_lists_and_is_revoked(web: Web):
    user = await _logged_in(web)

    made = await web.post("/account/tokens", {"name": "backup", "expires_in_days": "30"}, htmx=True)
    html = await made.get_data(as_text=True)
    token = re.search(r'id="new-token-value" class="mono" value="(pf_[^"]+)"', html)
    _, page = await web.get("/account")

    assert made.status_code == 201
    assert token is not None
    assert await user_for_api_token(token.group(1)) is not None
    row = await ApiToken.get(user=user)
    assert row.expires_at is not None
    assert token.group(1) not in page  # shown once
    assert "backup" in text_of(page) and row.prefix in page

    revoked = await web.post(f"/account/tokens/{row.id}/revoke", {}, htmx=True)
    again = await web.post(f"/account/tokens/{row.id}/revoke", {}, htmx=True)

    assert revoked.status_code == 200
    assert "No tokens yet" in text_of(await revoked.get_data(as_text=True))
    assert again.status_code == 404
    assert await user_for_api_token(token.group(1)) is None


async def test_a_token_needs_a_name_and_a_sane_lifetime(web: Web):
    await _logged_in(web)
    nameless = await web.post("/account/tokens", {"name": " "}, htmx=True)
    forever = await web.post(
        "/account/tokens", {"name": "x", "expires_in_days": "99999"}, htmx=True
    )
    assert nameless.status_code == forever.status_code == 422
    assert await ApiToken.all().count() == 0


async def test_an_expired_token_is_marked_on_the_page(web: Web):
    user = await _logged_in(web)
    await ApiToken.create(
        user=user,
        name="old",
        token_hash="f" * 64,
        prefix="pf_old",
        expires_at="2020-01-01T00:00:00+00:00",
    )
    _, html = await web.get("/account")
    assert "data-expired" in html


async def test_another_users_token_cannot_be_revoked(web: Web):
    bob = await web.user("bob")
    await ApiToken.create(user=bob, name="bobs", token_hash="e" * 64, prefix="pf_bob")
    await _logged_in(web)
    bobs = await ApiToken.get(user=bob)
    response = await web.post(f"/account/tokens/{bobs.id}/revoke", {}, htmx=True)
    assert response.status_code == 404
    assert (await ApiToken.get(id=bobs.id)).revoked_at is None
