"""Reordering an album with a finger: touch events through Chromium's DevTools protocol
(``Input.dispatchTouchEvent``) on a 360 px phone with a touch screen."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from pixelfox_app.models import Album, AlbumImage, Image, StoragePool, User
from tests.browser.conftest import Stack, in_db, login
from tests.web.album_rows import ready_image

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}
NAMES = ["first.jpg", "second.jpg", "third.jpg"]


async def _album() -> str:
    ada = await User.get(username="ada")
    pool = await StoragePool.get(name="s01-hot")
    album = await Album.create(short_id=f"touch{uuid.uuid4().hex[:6]}", owner=ada, title="Touch")
    for position, name in enumerate(NAMES, start=1):
        image = await ready_image(ada, pool, f"{album.short_id}{position}")
        await Image.filter(id=image.id).update(original_filename=name)
        await AlbumImage.create(album=album, image=image, position=position)
    return album.short_id


def _names(page: Any) -> list[str]:
    return [n.strip() for n in page.locator(".album-entry .name").all_inner_texts()]


def _touch(cdp: Any, kind: str, x: float, y: float) -> None:
    points = [] if kind == "touchEnd" else [{"x": x, "y": y, "id": 1}]
    cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})


def test_a_finger_drags_an_entry_by_its_handle_and_the_order_is_saved(
    stack: Stack, browser: Any
) -> None:
    short_id = in_db(stack, _album)
    context = browser.new_context(
        base_url=stack.app_url, viewport=PHONE, has_touch=True, is_mobile=True
    )
    try:
        phone = context.new_page()
        phone.set_default_timeout(15_000)
        login(phone, "ada")
        phone.goto(f"/a/{short_id}/edit")
        phone.locator(".album-entry").nth(2).wait_for()
        assert _names(phone) == NAMES

        # The list at the top of the screen, so the finger's path is on it.
        phone.evaluate("document.querySelector('#album-entries').scrollIntoView()")
        phone.evaluate(
            "window.pfPointers = [];"
            "document.addEventListener('pointerdown', e => pfPointers.push(e.pointerType))"
        )
        handles = phone.locator(".album-entry .handle")
        start = handles.nth(2).bounding_box()
        goal = phone.locator(".album-entry").nth(0).bounding_box()
        assert start and goal
        x, y = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
        cdp = context.new_cdp_session(phone)
        with phone.expect_response(re.compile(r".*/order$")) as posted:
            _touch(cdp, "touchStart", x, y)
            for step in range(1, 11):  # the finger moves up in small steps, as fingers do
                _touch(cdp, "touchMove", x, y + (goal["y"] + 4 - y) * step / 10)
            _touch(cdp, "touchEnd", x, goal["y"] + 4)
        assert phone.evaluate("window.pfPointers") == ["touch"]
        assert posted.value.status == 200
        moved = ["third.jpg", "first.jpg", "second.jpg"]
        phone.wait_for_function(
            "names => [...document.querySelectorAll('.album-entry .name')]"
            ".map(n => n.textContent.trim()).join() === names.join()",
            arg=moved,
        )
        phone.reload()
        assert _names(phone) == moved  # saved, not only moved on the screen
    finally:
        context.close()
