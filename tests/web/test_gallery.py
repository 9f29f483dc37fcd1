"""The public gallery: public images only, newest first, a page at a time with "Load more".

Rendered by the real app on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from pixelfox_app.config import AppSettings
from pixelfox_app.models import Image, Visibility
from pixelfox_app.web.pages.gallery import PAGE_SIZE
from tests.web.album_rows import ready_image
from tests.web.conftest import Web, make_settings


@pytest.fixture
def settings(database_url: str, redis_url: str, redis_prefix: str) -> AppSettings:
    return make_settings(database_url, redis_url, redis_prefix)


def _tiles(html: str) -> list[str]:
    return re.findall(r'<div class="tile" data-image="(\w+)">', html)


def _more(html: str) -> str | None:
    found = re.search(r'hx-get="/gallery\?before=(\d+)"', html)
    return found.group(1) if found else None


async def test_the_gallery_shows_public_images_and_never_unlisted_private_or_deleted_ones(
    web: Web,
):
    ada = await web.user("ada")
    pool = await web.pool()
    await ready_image(ada, pool, "open1")
    await ready_image(ada, pool, "bylink", visibility=Visibility.UNLISTED)
    await ready_image(ada, pool, "secret", visibility=Visibility.PRIVATE)
    gone = await ready_image(ada, pool, "gone")
    await Image.filter(id=gone.id).update(deleted_at=datetime.now(UTC))
    await ready_image(ada, pool, "open2")

    status, html = await web.get("/gallery")

    assert status == 200
    assert _tiles(html) == ["open2", "open1"]  # newest first
    assert "/uploads/variants/" in html  # thumbnails are absolute URLs on the node
    assert _more(html) is None


async def test_load_more_fetches_the_next_page_alone_until_none_is_left(web: Web):
    ada = await web.user("ada")
    pool = await web.pool()
    names = [f"p{n:02d}" for n in range(PAGE_SIZE + 5)]
    for name in names:
        await ready_image(ada, pool, name)

    _, first = await web.get("/gallery")
    before = _more(first)
    assert _tiles(first) == names[::-1][:PAGE_SIZE] and before is not None
    status, second = await web.get(f"/gallery?before={before}", htmx=True)

    assert status == 200
    assert "<html" not in second  # only the tiles and, were there more, a new button
    assert _tiles(second) == names[::-1][PAGE_SIZE:]
    assert _more(second) is None


async def test_the_gallery_is_open_without_a_login_and_ignores_a_bad_cursor(web: Web):
    status, html = await web.get("/gallery?before=abc")
    assert status == 200
    assert "No public images yet" in html
