"""The admin in Chromium: pools, settings and what an operator sees when a node stops."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser import files
from tests.browser.conftest import Stack, login

pytestmark = pytest.mark.browser
POOL_PAGE = re.compile(r".*/admin/pools/\d+$")


def test_an_admin_creates_a_pool_after_fixing_what_the_form_refused_and_then_edits_it(
    page: Any, stack: Stack
) -> None:
    login(page, "root")
    assert page.url.endswith("/admin/pools")
    page.locator("#pools-table tr[data-pool]").first.wait_for()
    page.shots("pools")
    page.click("text=New pool")
    page.fill("#f-name", "s01-warm")
    page.fill("#f-node_id", "s01")
    page.fill("#f-base_path", "srv/relative")
    page.fill("#f-public_base_url", "ftp://s01.example.com")
    page.fill("#f-capacity", "2 TB")
    page.click("button:has-text('Create pool')")

    page.locator("#form-errors").wait_for()
    assert "absolute directory" in page.locator("#e-base_path").inner_text()
    assert "http:// or https://" in page.locator("#e-public_base_url").inner_text()
    assert page.input_value("#f-capacity") == "2 TB"  # what was typed stays
    page.shots("form-errors")

    page.fill("#f-base_path", str(stack.tmp / "pool-warm"))
    page.fill("#f-public_base_url", "https://s01.example.com")
    page.select_option("#f-tier", "warm")
    page.click("button:has-text('Create pool')")
    page.wait_for_url(POOL_PAGE)
    assert page.locator("h1").inner_text().startswith("s01-warm")
    assert "https://s01.example.com" in page.locator("#pool-config").inner_text()
    page.shots("created")

    page.click("a:has-text('Edit')")
    page.fill("#f-public_base_url", "https://cdn-s01.example.com")
    page.fill("#f-reserve", "5 GB")
    page.click("button:has-text('Save changes')")
    page.wait_for_url(POOL_PAGE)
    facts = page.locator("#pool-config").inner_text()
    assert "https://cdn-s01.example.com" in facts and "5.0 GB" in facts
    page.shots("edited")

    page.click("button:has-text('Deactivate')")
    page.locator("h1 .badge:has-text('inactive')").wait_for()
    page.goto("/admin/pools")
    assert "inactive" in page.locator("tr[data-pool='s01-warm']").inner_text()


def test_switching_direct_upload_off_sends_the_next_upload_through_the_app(
    page: Any, stack: Stack
) -> None:
    login(page, "root")
    page.goto("/admin/settings")
    page.uncheck("#k-direct_upload")
    page.click("button:has-text('Save settings')")
    page.locator("#settings-saved").wait_for()
    page.shots("direct-off")
    try:
        page.goto("/upload")
        files.drop(page, [files.photo("via-app.jpg")])
        ready = page.locator(".file[data-state=ready]", has_text="via-app.jpg")
        ready.wait_for(timeout=60_000)
        assert ready.get_attribute("data-route") == "proxy"
        assert page.locator("#mode-label").get_attribute("data-mode") == "proxy"
        page.shots("proxy-upload")
    finally:
        page.goto("/admin/settings")
        page.check("#k-direct_upload")
        page.click("button:has-text('Save settings')")
        page.locator("#settings-saved").wait_for()

    page.goto("/upload")
    files.drop(page, [files.photo("direct-again.jpg")])
    back = page.locator(".file[data-route]", has_text="direct-again.jpg")
    back.wait_for()
    assert back.get_attribute("data-route") == "direct"


def test_a_wrong_password_keeps_the_visitor_on_the_login_form(page: Any, stack: Stack) -> None:
    page.goto("/admin/pools")
    assert "/login?next=/admin/pools" in page.url
    page.fill("#username", "root")
    page.fill("#password", "not the password")
    page.click("button[type=submit]")
    assert page.locator("#login-error").inner_text() == "Wrong username or password."
    page.shots("login-refused")
    page.fill("#password", "correct horse battery staple")
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/pools")


def test_a_stopped_node_turns_its_pools_badge_to_an_error(page: Any, stack: Stack) -> None:
    login(page, "root")
    page.goto("/admin/pools")
    badge = page.locator("tr[data-pool='s01-hot'] [data-health]")
    page.locator("tr[data-pool='s01-hot'] [data-health='ok']").wait_for(timeout=30_000)
    assert badge.inner_text() == "API OK"
    page.goto("/admin/nodes")
    page.locator("tr[data-node='s01'] [data-health='ok']").wait_for()
    page.shots("nodes-online")
    page.goto("/admin/queues")
    page.locator("[data-queue$=':node:s01'] .badge:has-text('worker alive')").wait_for()
    page.shots("queues")
    page.goto("/admin/pools")

    stack.services["s01"].stop()
    stack.services["s01-worker"].stop()

    # The last beat expires after HEARTBEAT_TTL; the table refreshes itself meanwhile.
    page.locator("tr[data-pool='s01-hot'] [data-health='error']").wait_for(timeout=60_000)
    assert badge.inner_text() == "Fehler"
    page.shots("node-stopped")
    page.goto("/admin/nodes")
    assert "offline" in page.locator("tr[data-node='s01']").inner_text()
    page.shots("nodes-offline")
    page.goto("/admin/pools")
    page.click("a:has-text('s01-hot')")
    page.locator("#pool-health [data-health='error']").wait_for()
    page.shots("pool-detail")
