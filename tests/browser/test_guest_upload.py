"""Guest uploads in Chromium: a visitor uploads on the same drag-and-drop page, gets the
delete link once, and that link deletes the image."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pixelfox_app import knobs
from tests.browser import files
from tests.browser.conftest import Stack, in_db

pytestmark = pytest.mark.browser


def _guests(stack: Stack, allowed: bool) -> None:
    in_db(stack, lambda: knobs.put("guest_uploads", allowed, by="tests"))


def test_a_visitor_uploads_without_an_account_and_deletes_it_with_the_link_shown_once(
    page: Any, stack: Stack
) -> None:
    _guests(stack, True)
    try:
        page.goto("/")
        assert page.url.endswith("/upload")  # the start page is the upload page now
        page.locator("#guest-note").wait_for()
        files.drop(page, [files.photo("no-account.jpg")])
        ready = page.locator(".file[data-state='ready']", has_text="no-account.jpg")
        ready.wait_for(timeout=60_000)
        link = ready.locator(".delete-link input").input_value()
        assert link.startswith(f"{stack.app_url}/guest/delete/")
        image_page = ready.locator(".message a").get_attribute("href")
        assert image_page and httpx.get(image_page).status_code == 200
        page.shots("uploaded")

        page.reload()
        assert page.locator(".delete-link").count() == 0  # shown once: gone with the page

        page.goto(link)
        assert "no-account.jpg" in page.locator("h1").inner_text()
        page.click("#guest-delete-button")
        page.locator("#guest-deleted").wait_for()
        page.shots("deleted")
        assert httpx.get(image_page).status_code == 404
    finally:
        _guests(stack, False)
