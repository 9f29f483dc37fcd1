"""The upload page in Chromium against a real app, storage node and worker."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from pixelfox_app import knobs
from pixelfox_app.db import close_db, init_db
from tests.browser import files
from tests.browser.conftest import MAX_UPLOAD_BYTES, Stack, login

pytestmark = pytest.mark.browser


def row(page: Any, name: str) -> Any:
    return page.locator(".file", has=page.locator(".name", has_text=name))


def wait_state(page: Any, name: str, state: str, timeout: float = 30_000) -> Any:
    locator = row(page, name)
    locator.and_(page.locator(f'[data-state="{state}"]')).wait_for(timeout=timeout)
    return locator


def test_dropped_files_each_show_their_own_outcome_and_good_ones_become_ready_with_thumbnails(
    page: Any, stack: Stack
) -> None:
    login(page, "ada")
    page.goto("/upload")
    page.shots("empty")
    good = [files.photo("sunset.jpg"), files.photo("harbour.png", 500, 300, "PNG")]
    big = files.too_large("huge.jpg", MAX_UPLOAD_BYTES + 1)
    text, fake = files.text("notes.txt"), files.fake_png("fake.png")

    files.drop(page, [*good, big, text, fake])

    too_large = wait_state(page, "huge.jpg", "error")
    assert too_large.get_attribute("data-code") == "FILE_TOO_LARGE"
    assert "Too large" in too_large.locator(".message").inner_text()
    assert "1.0 MB" in too_large.locator(".message").inner_text()
    not_image = wait_state(page, "notes.txt", "error")
    assert not_image.get_attribute("data-code") == "UNSUPPORTED_TYPE"
    assert "Not an image" in not_image.locator(".message").inner_text()
    page.shots("uploading")
    # The browser cannot tell a text file called .png: the node sniffs it and says so.
    spoofed = wait_state(page, "fake.png", "error")
    assert spoofed.get_attribute("data-code") == "UNSUPPORTED_TYPE"
    assert "Not an accepted image" in spoofed.locator(".message").inner_text()

    for photo in good:
        ready = wait_state(page, photo.name, "ready", timeout=60_000)
        assert ready.get_attribute("data-route") == "direct"
        thumb = ready.locator('.thumb img[data-source="server"]')
        src = thumb.get_attribute("src") or ""
        assert src.startswith(stack.node_url + "/uploads/variants/"), src
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle()
        )
        link = ready.locator(".message a").get_attribute("href") or ""
        assert link.startswith(stack.app_url + "/i/")
    page.shots("ready")
    assert page.locator("#summary").inner_text() == "2 ready · 3 failed"
    assert not [e for e in page.console_errors if "Content Security Policy" in e]


def test_the_image_page_shows_variants_with_absolute_links_on_the_node(
    page: Any, stack: Stack
) -> None:
    login(page, "ada")
    page.goto("/upload")
    files.drop(page, [files.photo("lighthouse.jpg", 900, 600)])
    ready = wait_state(page, "lighthouse.jpg", "ready", timeout=60_000)
    view = ready.locator(".message a").get_attribute("href")

    page.goto(view)

    links = page.locator("[data-variant] input")
    assert links.count() >= 2
    for value in links.evaluate_all("inputs => inputs.map(i => i.value)"):
        assert value.startswith(stack.node_url + "/uploads/variants/"), value
    assert (
        page.locator("#link-original")
        .input_value()
        .startswith(stack.node_url + "/uploads/original/")
    )
    page.wait_for_function("() => document.querySelector('#image-preview').naturalWidth > 0")
    page.shots("image-page")
    page.goto("/images")
    assert page.locator("[data-image]").count() >= 1
    page.shots("my-images")


def _set_knob(stack: Stack, key: str, value: Any) -> None:
    async def put() -> None:
        await init_db(stack.database_url)
        try:
            await knobs.put(key, value, by="tests")
        finally:
            await close_db()

    # Playwright's sync API owns this thread's event loop: the ORM runs in another thread.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, put()).result()


def test_a_pasted_image_uploads_and_a_rate_limited_one_says_how_long_to_wait(
    page: Any, stack: Stack, tmp_path: Path
) -> None:
    _set_knob(stack, "upload_user_rate_limit_per_minute", 1)
    try:
        login(page, "ada")
        page.goto("/upload")
        files.paste(page, files.photo("clipboard.png", 400, 300, "PNG"))
        wait_state(page, "clipboard.png", "processing")
        picked = files.photo("picked.jpg")
        (tmp_path / picked.name).write_bytes(picked.data)
        page.set_input_files("#file-input", str(tmp_path / picked.name))

        limited = row(page, "picked.jpg")
        limited.locator(".message", has_text="Too many uploads").wait_for()
        assert limited.get_attribute("data-code") == "RATE_LIMITED"
        assert re.search(r"trying again in \d+ (s|min)", limited.locator(".message").inner_text())
        page.shots("rate-limited")
    finally:
        _set_knob(stack, "upload_user_rate_limit_per_minute", 60)


def test_an_expired_upload_token_is_renewed_without_bothering_the_user(
    page: Any, stack: Stack
) -> None:
    # A token lives 15 minutes; waiting for a real expiry would take that long, so the
    # node's first answer is replaced by the TOKEN_EXPIRED it would give (the one fake here).
    sessions: list[str] = []
    page.on("request", lambda r: sessions.append(r.url) if "/upload/sessions" in r.url else None)
    answered = {"expired": False}

    def first_upload_expires(route: Any) -> None:
        if route.request.method == "POST" and not answered["expired"]:
            answered["expired"] = True
            route.fulfill(
                status=401,
                json={"error": {"code": "TOKEN_EXPIRED", "message": "expired"}},
                headers={"Access-Control-Allow-Origin": stack.app_url},
            )
        else:
            route.continue_()

    page.route(f"{stack.node_url}/api/internal/upload", first_upload_expires)
    login(page, "ada")
    page.goto("/upload")
    files.drop(page, [files.photo("late.jpg")])

    ready = wait_state(page, "late.jpg", "ready", timeout=60_000)

    assert answered["expired"]
    assert len(sessions) == 2  # a second session was fetched, silently
    assert ready.get_attribute("data-route") == "direct"


def test_an_upload_whose_node_drops_the_connection_goes_quietly_to_another_node(
    page: Any, stack: Stack
) -> None:
    # s01 goes first in placement. Its connection is cut by the browser itself
    # (a reset at the network level, which stopping s01 would also give, but
    # without taking s01 away from the other tests of this module).
    session_bodies: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda r: session_bodies.append(r.post_data_json) if "/upload/sessions" in r.url else None,
    )
    cut: list[str] = []

    def reset(route: Any) -> None:
        if route.request.method == "POST":
            cut.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(f"{stack.node_url}/api/internal/upload", reset)
    login(page, "ada")
    page.goto("/upload")
    files.drop(page, [files.photo("detour.jpg")])

    ready = wait_state(page, "detour.jpg", "ready", timeout=60_000)

    assert len(cut) == 1
    assert [body["avoid_nodes"] for body in session_bodies] == [[], ["s01"]]
    assert ready.get_attribute("data-route") == "direct"
    assert ready.locator(".message").inner_text() != ""
    image = ready.locator(".thumb img").get_attribute("src")
    assert image.startswith(stack.local_url + "/uploads/"), image
    page.shots("detour")


def test_an_image_uploaded_as_private_shows_only_through_signed_links(
    page: Any, stack: Stack
) -> None:
    login(page, "ada")
    page.goto("/upload")
    page.select_option("#visibility", "private")
    files.drop(page, [files.photo("diary.jpg")])

    ready = wait_state(page, "diary.jpg", "ready", timeout=60_000)

    thumb = ready.locator(".thumb img").get_attribute("src")
    assert "/uploads/private/" in thumb and "md5=" in thumb and "expires=" in thumb, thumb
    page.wait_for_function(
        "() => [...document.querySelectorAll('.thumb img')].some(i => i.naturalWidth > 0)"
    )
    view = ready.locator(".message a").get_attribute("href")
    page.goto(view)
    original = page.locator("#link-original").input_value()
    assert "/uploads/private/original/" in original and "md5=" in original, original
    page.shots("private-image-page")
