"""Accounts in Chromium: sign-up in each mode, the account page, the Users page, phones.

The stack fixture comes first in each test's arguments: it starts the
processes (and runs the ORM with ``asyncio.run``) before Playwright owns this
thread's event loop; later database work runs on a thread of its own.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from pixelfox_app import knobs
from pixelfox_app.auth.passwords import hash_password
from pixelfox_app.models import User
from tests.browser.conftest import PASSWORD, Stack, in_db, login

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}
NEW_PASSWORD = "a much better passphrase"


def _mode(stack: Stack, mode: str) -> None:
    in_db(stack, lambda: knobs.put("signup_mode", mode, by="tests"))


def _user(stack: Stack, username: str) -> None:
    async def make() -> None:
        await User.create(username=username, password_hash=hash_password(PASSWORD))

    in_db(stack, make)


def _sign_up(page: Any, username: str) -> None:
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.fill("#password2", PASSWORD)
    page.click("button:has-text('Create account')")
    page.wait_for_load_state("networkidle")


def test_closed_sign_up_says_so_and_open_sign_up_lands_logged_in_on_the_upload_page(
    stack: Stack, page: Any
) -> None:
    _mode(stack, "closed")
    assert page.goto("/signup").status == 403
    page.locator("#signup-closed").wait_for()
    page.shots("closed")

    _mode(stack, "open")
    page.goto("/login")
    page.click("#signup-link")
    page.wait_for_url(re.compile(r".*/signup$"))
    _sign_up(page, "walk-in")
    assert page.url.endswith("/upload")
    assert page.locator("#account-link").inner_text() == "walk-in"
    page.shots("signed-up")

    page.context.clear_cookies()
    page.goto("/signup")
    _sign_up(page, "walk-in")
    assert "taken" in page.locator("#signup-error").inner_text()
    _mode(stack, "closed")


def test_an_admin_makes_an_invite_link_that_signs_one_visitor_up(
    stack: Stack, browser: Any, page: Any
) -> None:
    _mode(stack, "invite")
    login(page, "root")
    page.goto("/admin/users")
    page.fill("#invite-uses", "1")
    page.fill("#invite-note", "for Grace")
    page.click("button:has-text('Make invite link')")
    link = page.locator("#new-invite-link").input_value()
    assert "/signup?invite=inv_" in link
    page.shots("invite-made")

    visitor = browser.new_context(base_url=stack.app_url)
    try:
        guest = visitor.new_page()
        assert guest.goto("/signup").status == 403
        guest.goto(link)
        _sign_up(guest, "grace")
        assert guest.url.endswith("/upload")
        visitor.clear_cookies()
        assert guest.goto(link).status == 403  # used up
        guest.locator("#signup-invite-invalid").wait_for()
    finally:
        visitor.close()
    page.goto("/admin/users?q=grace")
    assert page.locator("tr[data-user='grace']").count() == 1
    _mode(stack, "closed")


def test_a_password_change_on_the_account_page_logs_out_a_second_browser(
    stack: Stack, browser: Any, page: Any
) -> None:
    _user(stack, "hopper")
    second = browser.new_context(base_url=stack.app_url)
    try:
        other = second.new_page()
        login(other, "hopper")
        assert other.goto("/account").status == 200

        login(page, "hopper")
        page.goto("/account")
        page.fill("#current_password", PASSWORD)
        page.fill("#new_password", NEW_PASSWORD)
        page.fill("#new_password2", NEW_PASSWORD)
        page.click("button:has-text('Change password')")
        assert "1 other session logged out" in page.locator("#password-changed").inner_text()
        page.shots("password-changed")

        other.goto("/account")
        assert re.search(r"/login\?next=/account$", other.url)
        page.reload()
        assert page.url.endswith("/account")  # this browser stays logged in
    finally:
        second.close()


def test_a_token_made_on_the_account_page_opens_upload_sessions_for_a_script(
    stack: Stack, page: Any
) -> None:
    _user(stack, "lovelace")
    login(page, "lovelace")
    page.goto("/account")
    page.fill("#token-name", "nightly backup")
    page.select_option("#token-expiry", "30")
    page.click("button:has-text('Create token')")
    token = page.locator("#new-token-value").input_value()
    assert token.startswith("pf_")
    assert "nightly backup" in page.locator("#token-list").inner_text()
    page.shots("token")

    headers = {"Authorization": f"Bearer {token}"}
    body = {"file_size": 1234, "filename": "cat.jpg", "content_type": "image/jpeg"}
    made = httpx.post(f"{stack.app_url}/api/v1/upload/sessions", json=body, headers=headers)
    assert made.status_code == 201, made.text
    assert made.json()["upload_url"].startswith(stack.node_url)

    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#token-list button:has-text('Revoke')")
    page.locator("#no-tokens").wait_for()
    refused = httpx.post(f"{stack.app_url}/api/v1/upload/sessions", json=body, headers=headers)
    assert refused.status_code == 401


def _page_width(page: Any) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


@pytest.mark.parametrize(
    ("who", "path"),
    [
        (None, "/signup"),
        (None, "/login"),
        ("ada", "/account"),
        ("ada", "/upload"),
        ("root", "/admin/users"),
    ],
)
def test_account_pages_fit_a_360_px_phone(
    stack: Stack, browser: Any, who: str | None, path: str
) -> None:
    _mode(stack, "invite")  # the Users page then shows its invites card too
    context = browser.new_context(base_url=stack.app_url, viewport=PHONE)
    try:
        phone = context.new_page()
        if who:
            login(phone, who)
        if who == "ada":
            # A token row makes the account page's table.
            phone.goto("/account")
            phone.fill("#token-name", "phone")
            phone.click("button:has-text('Create token')")
            phone.locator("#token-list").wait_for()
        phone.goto(path)
        phone.wait_for_load_state("networkidle")
        assert _page_width(phone) <= PHONE["width"], f"{path} is wider than the phone"
    finally:
        context.close()
        _mode(stack, "closed")
