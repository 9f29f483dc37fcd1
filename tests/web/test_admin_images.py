"""The admin's Images page: search by every field, copies per image, keyset pages, bulk actions.

Rendered by the real app on SQLite and on PostgreSQL; the actions queue their
node jobs on the real Redis (no node runs here: the rows are what is checked).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from pixelfox_app.config import AppSettings
from pixelfox_app.models import CopyState, Image, ImageCopy, ImageState, Move, Visibility
from pixelfox_app.web.admin import image_search
from pixelfox_app.web.admin.image_search import PAGE_SIZE
from tests.web.album_rows import ready_image
from tests.web.conftest import PASSWORD, Web, make_settings, text_of


@pytest.fixture
def settings(database_url: str, redis_url: str, redis_prefix: str) -> AppSettings:
    return make_settings(database_url, redis_url, redis_prefix)


def _rows(html: str) -> list[str]:
    """The short ids of the listed images, in order."""
    return re.findall(r'<div class="small muted mono">(\w+)</div>', html)


def _older(html: str) -> str | None:
    link = re.search(r'href="/admin/images\?([^"]*)"[^>]*rel="next"', html)
    return link.group(1).replace("&amp;", "&") if link else None


async def _world(web: Web) -> dict[str, Image]:
    """ada's and bob's images on two pools of two nodes, one replicated, one deleted."""
    ada, bob = await web.user("ada"), await web.user("bob")
    hot, cold = await web.pool("hot-1", "s01"), await web.pool("cold-1", "s02")
    await web.pool("spare", "s03")  # holds nothing
    made = {
        "beach": await ready_image(ada, hot, "beach"),
        "dunes": await ready_image(ada, cold, "dunes", visibility=Visibility.UNLISTED),
        "cat": await ready_image(bob, hot, "cat", visibility=Visibility.PRIVATE),
        "raw": await ready_image(bob, cold, "raw"),
    }
    await Image.filter(id=made["raw"].id).update(state=ImageState.PROCESSING)
    await Image.filter(id=made["dunes"].id).update(created_at=datetime(2026, 1, 15, tzinfo=UTC))
    await Image.filter(id=made["cat"].id).update(deleted_at=datetime.now(UTC))
    for name, pool, state in (
        ("beach", hot, CopyState.VERIFIED),
        ("beach", cold, CopyState.PENDING),
        ("dunes", cold, CopyState.VERIFIED),
        ("cat", hot, CopyState.VERIFIED),
    ):
        await ImageCopy.create(image=made[name], pool=pool, state=state, bytes=5400)
    return made


async def test_the_list_shows_every_image_newest_first_with_its_copies_size_and_hash(web: Web):
    await web.admin("root")
    made = await _world(web)
    await Image.filter(id=made["beach"].id).update(sha256="ab" * 32)

    status, html = await web.get("/admin/images")

    assert status == 200
    assert _rows(html) == ["raw", "cat", "dunes", "beach"]
    beach = html.split(f'<tr data-image="{made["beach"].id}">', 1)[1].split("</tr>", 1)[0]
    assert re.findall(r'data-copy-pool="([\w-]+)"', beach) == ["hot-1", "cold-1"]
    assert "cold-1 · pending" in text_of(beach)
    assert 'data-size="5000"' in beach
    assert 'title="' + "ab" * 32 + '"' in beach
    cat = html.split(f'<tr data-image="{made["cat"].id}">', 1)[1].split("</tr>", 1)[0]
    assert "data-trash" in cat and 'data-visibility="private"' in cat
    raw = html.split(f'<tr data-image="{made["raw"].id}">', 1)[1].split("</tr>", 1)[0]
    assert 'data-copy-pool="cold-1"' in raw  # no copy row yet: its primary pool


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("filename=EAC", ["beach"]),
        ("user=bob", ["raw", "cat"]),
        ("user=nobody", []),
        ("pool=cold-1", ["raw", "dunes", "beach"]),  # beach has a replica there
        ("node=s01", ["cat", "beach"]),
        ("node=s09", []),
        ("pool=spare", []),
        ("state=processing", ["raw"]),
        ("state=trash", ["cat"]),
        ("state=live", ["raw", "dunes", "beach"]),
        ("visibility=unlisted", ["dunes"]),
        ("since=2026-01-01&until=2026-01-31", ["dunes"]),
        ("user=ada&pool=hot-1", ["beach"]),
        ("state=bogus&visibility=loud&since=tomorrow", ["raw", "cat", "dunes", "beach"]),
    ],
)
async def test_each_filter_narrows_the_list(web: Web, query: str, expected: list[str]):
    await web.admin("root")
    await _world(web)

    status, html = await web.get(f"/admin/images?{query}", htmx=True)

    assert status == 200
    assert html.lstrip().startswith('<div class="card" id="images-table">')  # the table alone
    assert _rows(html) == expected


async def test_the_pool_filter_answers_the_same_for_sparse_and_dense_pools(
    web: Web, monkeypatch: pytest.MonkeyPatch
):
    """Pools with few images and pools with many are searched by two forms of the query
    (image_search._on_pools); with the threshold at 0 every pool holding any counts as
    dense."""
    await web.admin("root")
    await _world(web)
    queries = {
        "pool=cold-1": ["raw", "dunes", "beach"],
        "node=s01": ["cat", "beach"],
        "pool=hot-1&user=bob": ["cat"],
        "pool=spare": [],
    }
    sparse = {q: _rows((await web.get(f"/admin/images?{q}", htmx=True))[1]) for q in queries}
    monkeypatch.setattr(image_search, "SPARSE", 0)
    dense = {q: _rows((await web.get(f"/admin/images?{q}", htmx=True))[1]) for q in queries}
    assert sparse == dense == queries


async def test_pages_follow_by_keyset_and_keep_the_filters(web: Web):
    await web.admin("root")
    ada = await web.user("ada")
    pool = await web.pool()
    for n in range(PAGE_SIZE + 3):
        await ready_image(ada, pool, f"p{n:03d}")
    await ready_image(await web.user("bob"), pool, "other")

    _, first = await web.get("/admin/images?user=ada")
    older = _older(first)
    assert older is not None and "user=ada" in older and "before=" in older
    _, second = await web.get(f"/admin/images?{older}")

    assert len(_rows(first)) == PAGE_SIZE
    assert _rows(first)[0] == f"p{PAGE_SIZE + 2:03d}"
    assert _rows(second) == ["p002", "p001", "p000"]
    assert _older(second) is None
    assert 'href="/admin/images?user=ada"' in second  # back to the newest


async def test_delete_restore_and_make_private_act_on_the_ticked_images(web: Web):
    await web.admin("root")
    made = await _world(web)
    beach, dunes, cat = made["beach"], made["dunes"], made["cat"]
    ticked = {"image": [str(beach.id), str(dunes.id)]}

    deleted = await _act(web, "delete", ticked, {"user": "ada"})
    html = await deleted.get_data(as_text=True)
    assert deleted.status_code == 200
    assert "2 images moved to the trash." in text_of(html)
    assert _rows(html) == ["dunes", "beach"]  # same filters after the action
    assert await Image.filter(deleted_at__isnull=False).count() == 3
    assert (await Image.get(id=beach.id)).deleted_by == "root"

    restored = await _act(web, "restore", {"image": [str(beach.id), str(cat.id)]})
    assert "2 images restored." in text_of(await restored.get_data(as_text=True))
    assert (await Image.get(id=cat.id)).deleted_at is None

    private = await _act(web, "private", {"image": [str(beach.id), str(dunes.id)]})
    said = text_of(await private.get_data(as_text=True))
    assert "1 image made private. Skipped 1: dunes.jpg is in the trash" in said
    beach = await Image.get(id=beach.id)
    assert beach.visibility_target == Visibility.PRIVATE  # the node moves the files next


async def test_an_unknown_action_or_no_ticked_image_is_refused_and_changes_nothing(web: Web):
    await web.admin("root")
    made = await _world(web)
    unknown = await _act(web, "explode", {"image": [str(made["beach"].id)]})
    nothing = await _act(web, "delete", {"image": []})
    assert unknown.status_code == nothing.status_code == 422
    assert "Choose what to do" in text_of(await unknown.get_data(as_text=True))
    assert "Tick the images" in text_of(await nothing.get_data(as_text=True))
    assert await Image.filter(deleted_at__isnull=False).count() == 1  # only cat, as made


async def test_moving_to_a_pool_refuses_nothing_ticked_no_pool_and_an_unreachable_one(web: Web):
    await web.admin("root")
    made = await _world(web)
    beach = str(made["beach"].id)
    nothing = await _act(web, "move", {"image": []}, {"target_pool": "cold-1"})
    no_pool = await _act(web, "move", {"image": [beach]})
    unknown = await _act(web, "move", {"image": [beach]}, {"target_pool": "nowhere"})
    # No node runs here: cold-1 has no heartbeat, so it cannot take images.
    unreachable = await _act(web, "move", {"image": [beach]}, {"target_pool": "cold-1"})
    said = [text_of(await r.get_data(as_text=True)) for r in (nothing, no_pool, unknown)]
    assert [r.status_code for r in (nothing, no_pool, unknown, unreachable)] == [422] * 4
    assert "Tick the images" in said[0]
    assert "Choose the pool to move the images to." in said[1]
    assert "There is no pool" in said[2] and "nowhere" in said[2]
    assert "cold-1" in text_of(await unreachable.get_data(as_text=True))
    assert await Move.all().count() == 0
    assert (await Image.get(id=made["beach"].id)).pool_id == (await made["beach"].pool).id  # type: ignore[attr-defined]


async def test_the_move_action_offers_every_active_pool(web: Web):
    await web.admin("root")
    await _world(web)
    _, html = await web.get("/admin/images")
    targets = html.split('id="image-target-pool"', 1)[1].split("</select>", 1)[0]
    assert re.findall(r'<option value="([\w-]+)"', targets) == ["cold-1", "hot-1", "spare"]
    assert '<option value="move">Move to a pool</option>' in html


async def test_a_plain_user_is_refused_the_page_and_the_actions(web: Web):
    made = await _world(web)
    await web.login("ada", PASSWORD)
    status, _ = await web.get("/admin/images")
    refused = await _act(web, "delete", {"image": [str(made["beach"].id)]})
    assert status == 403
    assert refused.status_code == 403
    assert await Image.filter(deleted_at__isnull=False).count() == 1


async def test_dates_from_and_to_include_both_days(web: Web):
    await web.admin("root")
    ada, pool = await web.user("ada"), await web.pool()
    for day in (9, 10, 11, 12):
        image = await ready_image(ada, pool, f"d{day}")
        moment = datetime(2026, 3, day, 23, 59, tzinfo=UTC)
        await Image.filter(id=image.id).update(created_at=moment)
    _, html = await web.get("/admin/images?since=2026-03-10&until=2026-03-11", htmx=True)
    assert _rows(html) == ["d11", "d10"]


async def _act(
    web: Web, action: str, ticked: dict[str, list[str]], filters: dict[str, str] | None = None
) -> Any:
    form = {"action": action, **(filters or {})}
    headers = {"X-CSRF-Token": await web.csrf(), "HX-Request": "true"}
    body = "&".join([f"{k}={v}" for k, v in form.items()] + [f"image={i}" for i in ticked["image"]])
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return await web.client.post("/admin/images/actions", data=body, headers=headers)
