"""Deleting from the image page and the Trash page, in Chromium against a real app and node."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser import files
from tests.browser.conftest import Stack, login

pytestmark = pytest.mark.browser
IMAGE_PAGE = re.compile(r".*/i/[^/]+$")


def test_an_owner_deletes_from_the_image_page_restores_from_the_trash_and_deletes_for_good(
    page: Any, stack: Stack
) -> None:
    page.on("dialog", lambda dialog: dialog.accept())
    login(page, "ada")
    page.goto("/upload")
    files.drop(page, [files.photo("to-delete.jpg")])
    page.locator(".file[data-state='ready']").first.wait_for(timeout=60_000)

    page.goto("/images")
    page.locator(".tile").first.click()
    page.wait_for_url(IMAGE_PAGE)
    image_url = page.url
    short_id = image_url.rsplit("/", 1)[1]
    page.shots("image-page")
    page.click("#delete button:has-text('Delete')")
    page.wait_for_url(re.compile(r".*/trash$"))
    row = page.locator(f"tr[data-trashed='{short_id}']")
    row.wait_for()
    assert "to-delete.jpg" in row.inner_text()
    page.shots("trash")
    assert page.goto(image_url).status == 404
    page.goto("/images")
    assert page.locator(f".tile[data-image='{short_id}']").count() == 0

    page.goto("/trash")
    row.locator("button:has-text('Restore')").click()
    row.wait_for(state="detached")
    assert page.goto(image_url).status == 200
    page.locator("#image-preview").wait_for()

    page.click("#delete button:has-text('Delete')")
    page.wait_for_url(re.compile(r".*/trash$"))
    row.locator("button:has-text('Delete now')").click()
    row.locator("[data-purging]").wait_for()
    page.shots("purging")
    assert row.locator("button").count() == 0
