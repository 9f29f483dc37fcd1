"""Every page fits a 360 px phone: no horizontal scrolling, and top-bar targets a thumb can hit.

The pages come from the app's own routes (every GET that is not an API, a
file or a fragment), so a new page joins this test by existing; a new route
parameter needs a sample here, and the test says so. Each page is loaded
logged out and as an admin with an image, an album and a move to show.
"""

from __future__ import annotations

import re
from hashlib import sha256
from typing import Any

import pytest

from pixelfox_app.app import create_app
from pixelfox_app.models import (
    Album,
    AlbumImage,
    GuestUpload,
    Image,
    Move,
    MoveState,
    StoragePool,
    User,
)
from tests.browser import files
from tests.browser.conftest import ARTIFACTS, Stack, in_db, login
from tests.web.conftest import make_settings

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}
MIN_TARGET_PX = 40
GUEST_KEY = b"phone-width-test-delete-key"
# GET routes that are not pages a person opens: health, schema, files, and the image
# page's visibility fragment (it polls itself inside the image page).
NOT_PAGES = {
    "/healthz",
    "/openapi.json",
    "/static/<path:filename>",
    "/f/<pool_name>/<path:relative>",
    "/i/<short_id>/visibility",
}
WIDTH_JS = "document.scrollingElement.scrollWidth"
# Visible links and buttons of the top bar, with their heights.
TARGETS_JS = """
() => [...document.querySelectorAll('.topbar a, .topbar button, .topbar summary')]
  .filter(e => e.offsetParent !== null)
  .map(e => [e.textContent.trim(), e.getBoundingClientRect().height])
"""


def page_rules() -> list[str]:
    """Every GET route of the app that is a page."""
    app = create_app(make_settings("sqlite:///unused.sqlite3", "redis://127.0.0.1:6379/0", "x"))
    rules = {
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or ()) and not rule.rule.startswith("/api/")
    }
    return sorted(rules - NOT_PAGES)


def _fill(rule: str, samples: dict[str, str]) -> str:
    def sample(match: re.Match[str]) -> str:
        name = match.group(1)
        key = "album" if rule.startswith("/a/") else name
        assert key in samples, f"{rule}: add a sample value for <{name}> to this test"
        return samples[key]

    return re.sub(r"<(?:\w+:)?(\w+)>", sample, rule)


async def _samples(image_name: str) -> dict[str, str]:
    """An album holding the uploaded image, a finished move, a delete link, and their ids."""
    root = await User.get(username="root")
    image = await Image.get(original_filename=image_name)
    album = await Album.create(
        short_id="phonealbum", owner=root, title="A trip with a rather long title"
    )
    await AlbumImage.create(album=album, image=image, position=1)
    source, target = await StoragePool.get(name="s01-hot"), await StoragePool.get(name="local")
    move = await Move.create(source=source, target=target, state=MoveState.CANCELLED)
    # The image's delete link as if a guest had uploaded it (its page only asks).
    await GuestUpload.create(image_uuid=image.uuid, delete_hash=sha256(GUEST_KEY).hexdigest())
    return {
        "key": GUEST_KEY.decode(),
        "short_id": image.short_id,
        "album": album.short_id,
        "pool_id": str(source.id),
        "move_id": str(move.id),
    }


def _check(phone: Any, path: str, who: str) -> list[str]:
    phone.goto(path)
    phone.wait_for_load_state("networkidle")
    problems = []
    width = int(phone.evaluate(WIDTH_JS))
    if width > PHONE["width"]:
        problems.append(f"{who} {path}: {width} px wide")
    for label, height in phone.evaluate(TARGETS_JS):
        if height < MIN_TARGET_PX:
            problems.append(f"{who} {path}: top-bar target {label!r} is {height:.0f} px tall")
    name = re.sub(r"\W+", "-", path).strip("-") or "home"
    phone.screenshot(path=str(ARTIFACTS / f"phone-{who}-{name}.png"), full_page=True)
    return problems


def test_every_page_fits_a_360_px_phone_with_usable_top_bar_targets(
    page: Any, stack: Stack, browser: Any
) -> None:
    login(page, "root")
    page.goto("/upload")
    files.drop(page, [files.photo("phone-sized-holiday-picture.jpg", width=1400, height=900)])
    page.locator(".file[data-state='ready']").wait_for(timeout=60_000)
    samples = in_db(stack, lambda: _samples("phone-sized-holiday-picture.jpg"))
    paths = [_fill(rule, samples) for rule in page_rules()]
    assert "/admin/images" in paths and "/gallery" in paths

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    for who in ("visitor", "admin"):
        context = browser.new_context(base_url=stack.app_url, viewport=PHONE, has_touch=True)
        try:
            phone = context.new_page()
            phone.set_default_timeout(15_000)
            if who == "admin":
                login(phone, "root")
            for path in paths:
                problems += _check(phone, path, who)
        finally:
            context.close()

    assert problems == [], "\n".join(problems)
