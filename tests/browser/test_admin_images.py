"""The admin's Images page in Chromium: search, tick every image on the page, one action."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.browser import files
from tests.browser.conftest import Stack, login

pytestmark = pytest.mark.browser


def _answers(url: str) -> int:
    return httpx.get(url, timeout=5).status_code


def test_an_admin_finds_images_ticks_them_all_and_moves_them_to_the_trash(
    page: Any, stack: Stack
) -> None:
    login(page, "ada")
    page.goto("/upload")
    files.drop(page, [files.photo(n) for n in ("kitten-1.jpg", "kitten-2.jpg", "dog.jpg")])
    page.locator(".file[data-state='ready']").nth(2).wait_for(timeout=60_000)
    page.goto("/images")
    kitten = page.locator(".tile", has_text="kitten-1.jpg").locator("img")
    thumb_url = kitten.get_attribute("src")
    assert thumb_url and _answers(thumb_url) == 200

    page.context.clear_cookies()
    login(page, "root")
    page.goto("/admin/images")
    page.fill("#image-search", "kitten")
    page.wait_for_function(
        "() => document.querySelectorAll('#images-table tr[data-image]').length === 2"
    )
    assert "filename=kitten" in page.url  # the search is a link
    rows = page.locator("#images-table tr[data-image]")
    assert "dog.jpg" not in page.locator("#images-table").inner_text()
    assert "s01-hot" in rows.first.locator("[data-copies]").inner_text()
    page.shots("searched")

    page.check("[data-select-all]")
    assert page.locator("#images-table input[name=image]:checked").count() == 2
    page.select_option("#image-action", "delete")
    page.click("#apply-action")
    page.locator("#action-outcome", has_text="2 images moved to the trash.").wait_for()
    assert page.locator("#images-table [data-trash]").count() == 2
    assert page.input_value("#image-search") == "kitten"  # the search stays
    page.shots("deleted")

    # The node takes the files out of reach within seconds.
    deadline = time.monotonic() + 30
    while _answers(thumb_url) == 200 and time.monotonic() < deadline:
        time.sleep(0.3)
    assert _answers(thumb_url) == 404
    page.goto("/admin/images?state=trash")
    assert page.locator("#images-table tr[data-image]").count() == 2
