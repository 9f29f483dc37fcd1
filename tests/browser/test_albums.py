"""Albums in Chromium against a real app and node: make one, fill it from "My images",
drag to reorder, reorder by keyboard, pick the cover; its page, tags and embed codes
point at files that answer; every album page fits a 360 px phone."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.browser import files
from tests.browser.conftest import ARTIFACTS, Stack, login

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}
EDITOR = re.compile(r".*/a/[^/]+/edit$")


def _names(page: Any) -> list[str]:
    return [n.strip() for n in page.locator(".album-entry .name").all_inner_texts()]


def _upload(page: Any, names: list[str]) -> None:
    page.goto("/upload")
    files.drop(page, [files.photo(n, width=1400, height=900) for n in names])
    page.locator(".file[data-state='ready']").nth(len(names) - 1).wait_for(timeout=60_000)


def test_an_album_is_filled_dragged_into_order_reordered_by_keyboard_and_shared(
    page: Any, stack: Stack, browser: Any
) -> None:
    login(page, "ada")
    _upload(page, ["one.jpg", "two.jpg", "three.jpg"])
    page.goto("/albums")
    page.fill("#album-title", "Trip")
    page.click("#new-album button[type=submit]")
    page.wait_for_url(EDITOR)
    editor = page.url
    page.locator("#album-picker input[type=checkbox]").first.wait_for()
    for box in page.locator("#album-picker input[type=checkbox]").all():
        box.check()
    page.click("#album-picker button:has-text('Add selected')")
    page.locator(".album-entry").nth(2).wait_for()
    first = _names(page)
    assert sorted(first) == ["one.jpg", "three.jpg", "two.jpg"]
    page.shots("filled")

    # Drag the last entry onto the first: it goes first, and the order is saved.
    entries = page.locator(".album-entry")
    with page.expect_response(re.compile(r".*/order$")) as posted:
        entries.nth(2).drag_to(entries.nth(0))
    assert posted.value.status == 200
    dragged = [first[2], first[0], first[1]]
    page.wait_for_function(
        "names => [...document.querySelectorAll('.album-entry .name')]"
        ".map(n => n.textContent.trim()).join() === names.join()",
        arg=dragged,
    )
    page.goto(editor)
    assert _names(page) == dragged
    page.shots("dragged")

    # Without a mouse: the first entry's "Move down", by keyboard; the focus stays on it.
    page.locator(".album-entry").first.locator("button[data-move=down]").focus()
    page.keyboard.press("Enter")
    page.wait_for_function(
        "name => document.querySelectorAll('.album-entry .name')[1].textContent.trim() === name",
        arg=dragged[0],
    )
    moved = [dragged[1], dragged[0], dragged[2]]
    assert _names(page) == moved
    focused = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert focused == f"Move down: {dragged[0]}"
    page.keyboard.press("Enter")  # again: it goes on moving the same image
    page.wait_for_function(
        "name => document.querySelectorAll('.album-entry .name')[2].textContent.trim() === name",
        arg=dragged[0],
    )

    # The cover: the second entry.
    page.locator(".album-entry").nth(1).locator("button[data-cover]").click()
    page.locator(".album-entry").nth(1).locator("span[data-cover]").wait_for()
    cover = _names(page)[1]
    final = _names(page)

    # The album page: in order, every preview loaded from the node.
    page.click("a:has-text('View')")
    page.wait_for_url(re.compile(r".*/a/[^/]+$"))
    page.wait_for_load_state("networkidle")
    shown = [t.strip() for t in page.locator("#album-images .tile .n").all_inner_texts()]
    assert shown == final
    sizes = page.evaluate(
        "[...document.querySelectorAll('#album-images img')].map(i => i.naturalWidth)"
    )
    assert len(sizes) == 3 and all(w > 0 for w in sizes)
    for original in page.locator("[data-original]").all():
        href = original.get_attribute("href")
        assert href.startswith(stack.node_url)
        answer = httpx.get(href)
        assert answer.status_code == 200 and answer.headers["content-type"] == "image/jpeg"
    # A crawler loads the page itself (a boosted navigation keeps the old head).
    page.reload()
    og = page.locator("meta[property='og:image']").get_attribute("content")
    assert og.startswith(stack.node_url)
    assert httpx.get(og).headers["content-type"].startswith("image/")
    page.shots("album")

    # The cover's image page: every embed code's URL answers with an image.
    page.click(f"#album-images .tile .n:has-text('{cover}')")
    page.wait_for_url(re.compile(r".*/i/[^/]+$"))
    directs = page.locator("[data-embed$='-direct'] input").all()
    assert len(directs) >= 2
    for field in directs:
        answer = httpx.get(field.input_value())
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("image/")

    # Every album page fits a phone.
    image_page = page.url
    context = browser.new_context(base_url=stack.app_url, viewport=PHONE)
    try:
        phone = context.new_page()
        login(phone, "ada")
        for path in ("/albums", editor.removesuffix("/edit"), image_page, editor):
            phone.goto(path)
            phone.wait_for_load_state("networkidle")
            width = int(phone.evaluate("document.documentElement.scrollWidth"))
            assert width <= PHONE["width"], f"{path} is {width} px wide"
            name = path.rstrip("/").rsplit("/", 1)[-1]
            phone.screenshot(path=str(ARTIFACTS / f"albums-phone-{name}.png"), full_page=True)
    finally:
        context.close()


def test_my_images_adds_the_ticked_images_to_an_album_without_asking_to_delete(
    page: Any, stack: Stack
) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    login(page, "ada")
    _upload(page, ["picked.jpg"])
    page.goto("/albums")
    page.fill("#album-title", "Picks")
    page.click("#new-album button[type=submit]")
    page.wait_for_url(EDITOR)
    page.goto("/images")
    tile = page.locator(".tile", has_text="picked.jpg").first
    tile.locator("input[type=checkbox]").check()
    page.select_option("#add-to-album", label="Picks")
    page.click("button:has-text('Add to album')")
    page.wait_for_url(EDITOR)
    page.locator(".album-entry").first.wait_for()
    assert _names(page) == ["picked.jpg"]
    assert dialogs == []  # the Delete button's confirmation is not this button's
    page.goto("/images")
    assert page.locator(".tile", has_text="picked.jpg").count() == 1  # still there


def test_uploads_join_the_album_chosen_on_the_upload_page(page: Any, stack: Stack) -> None:
    login(page, "ada")
    page.goto("/albums")
    page.fill("#album-title", "Fresh")
    page.click("#new-album button[type=submit]")
    page.wait_for_url(EDITOR)
    page.click("a:has-text('Upload into this album')")
    page.wait_for_url(re.compile(r".*/upload\?album=.+"))
    assert page.locator("#album option:checked").inner_text() == "Fresh"
    files.drop(page, [files.photo("into-album.jpg"), files.photo("into-album-2.jpg")])
    page.locator(".file[data-state='ready']").nth(1).wait_for(timeout=60_000)
    editor = page.url.replace("/upload?album=", "/a/") + "/edit"
    page.goto(editor)
    page.locator(".album-entry").nth(1).wait_for()
    assert sorted(_names(page)) == ["into-album-2.jpg", "into-album.jpg"]
