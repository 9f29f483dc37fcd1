"""``/api/v1/albums`` against the real app and database: who may do what, order, cover, deletes.

Each test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest

from pixelfox_app.config import AppSettings
from pixelfox_app.models import Album, AlbumImage, Image, Visibility
from tests.web.album_rows import ready_image
from tests.web.conftest import PUBLIC, Web, make_settings


@pytest.fixture
def settings(database_url: str, redis_url: str, redis_prefix: str) -> AppSettings:
    return make_settings(database_url, redis_url, redis_prefix)


async def _call(web: Web, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    headers = {"Accept": "application/json", "X-CSRF-Token": await web.csrf()}
    response = await web.client.open(path, method=method, json=body, headers=headers)
    text = await response.get_data(as_text=True)
    return response.status_code, (await response.get_json()) if text else None


def _code(body: Any) -> str:
    return str(body["error"]["code"])


async def _three(web: Web, owner_name: str = "ada") -> tuple[list[Image], Any]:
    owner = await web.user(owner_name)
    pool = await web.pool()
    images = [await ready_image(owner, pool, f"{owner_name}{n}") for n in range(3)]
    await web.login(owner_name)
    return images, owner


async def test_an_album_is_made_filled_ordered_and_given_a_cover(web: Web):
    images, _ = await _three(web)
    status, album = await _call(web, "POST", "/api/v1/albums", {"title": "Trip"})
    assert status == 201
    assert album["url"] == f"{PUBLIC}/a/{album['short_id']}"
    assert album["visibility"] == "public" and album["image_uuids"] == []
    path = f"/api/v1/albums/{album['short_id']}"
    uuids = [str(i.uuid) for i in images]
    status, added = await _call(web, "POST", f"{path}/images", {"image_uuids": uuids[:2]})
    assert status == 200 and added["added"] == 2
    # Already there: stays in place; the new one goes last.
    _, added = await _call(web, "POST", f"{path}/images", {"image_uuids": [uuids[2], uuids[0]]})
    assert added["added"] == 1 and added["album"]["image_uuids"] == uuids
    assert added["album"]["cover_image_uuid"] == uuids[0]  # none chosen: the first
    status, ordered = await _call(web, "PUT", f"{path}/order", {"image_uuids": uuids[::-1]})
    assert status == 200 and ordered["image_uuids"] == uuids[::-1]
    status, changed = await _call(
        web,
        "PATCH",
        path,
        {"title": "Trip 2026", "description": "Alps", "cover_image_uuid": uuids[1]},
    )
    assert status == 200
    assert (changed["title"], changed["description"]) == ("Trip 2026", "Alps")
    assert changed["cover_image_uuid"] == uuids[1]
    _, again = await _call(web, "GET", path)
    assert again["image_uuids"] == uuids[::-1] and again["cover_image_uuid"] == uuids[1]


async def test_an_order_must_name_every_image_once(web: Web):
    images, owner = await _three(web)
    album = await Album.create(short_id="alb1", owner=owner, title="A")
    uuids = [str(i.uuid) for i in images]
    await _call(web, "POST", "/api/v1/albums/alb1/images", {"image_uuids": uuids})
    for wrong in (
        uuids[:2],
        [*uuids, uuids[0]],
        [*uuids[:2], "00000000-0000-4000-8000-000000000000"],
        ["junk"],
    ):
        status, body = await _call(web, "PUT", "/api/v1/albums/alb1/order", {"image_uuids": wrong})
        assert status == 422, wrong
        assert _code(body) in {"ALBUM_ORDER_MISMATCH", "ALBUM_IMAGE_UNKNOWN"}
    positions = await AlbumImage.filter(album_id=album.id).order_by("position")
    assert [p.image_id for p in positions] == [i.id for i in images]  # unchanged


async def test_only_the_owners_own_images_enter_and_all_or_nothing(web: Web):
    images, owner = await _three(web)
    bob = await web.user("bob")
    bobs = await ready_image(bob, await web.pool("hot-2", "s02"), "bob0")
    await Album.create(short_id="alb1", owner=owner, title="A")
    status, body = await _call(
        web,
        "POST",
        "/api/v1/albums/alb1/images",
        {"image_uuids": [str(images[0].uuid), str(bobs.uuid)]},
    )
    assert status == 422 and _code(body) == "ALBUM_IMAGE_UNKNOWN"
    assert body["error"]["details"]["image_uuids"] == [str(bobs.uuid)]
    assert await AlbumImage.all().count() == 0
    for cover in (str(images[1].uuid), "not-a-uuid"):
        status, body = await _call(web, "PATCH", "/api/v1/albums/alb1", {"cover_image_uuid": cover})
        assert status == 422 and _code(body) == "ALBUM_COVER_NOT_IN_ALBUM"


async def test_others_may_not_change_an_album_and_do_not_see_a_private_one(web: Web):
    _, owner = await _three(web)
    await web.user("bob")
    await Album.create(short_id="pub1", owner=owner, title="Shared")
    await Album.create(short_id="priv1", owner=owner, title="Mine", visibility=Visibility.PRIVATE)
    await web.login("bob")
    assert (await _call(web, "GET", "/api/v1/albums/pub1"))[0] == 200
    status, body = await _call(web, "PATCH", "/api/v1/albums/pub1", {"title": "Bob's"})
    assert status == 403 and _code(body) == "FORBIDDEN"
    status, body = await _call(web, "DELETE", "/api/v1/albums/pub1")
    assert status == 403
    for method, path in (("GET", "priv1"), ("DELETE", "priv1"), ("GET", "x" * 40)):
        status, body = await _call(web, method, f"/api/v1/albums/{path}")
        assert status == 404 and _code(body) == "NOT_FOUND"
    _, mine = await _call(web, "GET", "/api/v1/albums")
    assert mine == {"albums": []}
    # An admin may do what the owner may.
    await web.admin()
    status, changed = await _call(web, "PATCH", "/api/v1/albums/priv1", {"visibility": "unlisted"})
    assert status == 200 and changed["visibility"] == "unlisted" and changed["owner"] == "ada"


async def test_anonymous_callers_read_public_albums_and_change_nothing(web: Web):
    _, owner = await _three(web)
    await Album.create(short_id="pub1", owner=owner, title="Shared")
    await web.client.post("/logout", form={"csrf_token": await web.csrf()})
    assert (await _call(web, "GET", "/api/v1/albums/pub1"))[0] == 200
    status, body = await _call(web, "POST", "/api/v1/albums", {"title": "x"})
    assert status == 401 and _code(body) == "AUTH_REQUIRED"


async def test_an_image_in_two_albums_and_deleting_an_album_keeps_its_images(web: Web):
    images, _ = await _three(web)
    one = str(images[0].uuid)
    shorts = []
    for title in ("One", "Two"):
        _, album = await _call(web, "POST", "/api/v1/albums", {"title": title})
        await _call(
            web, "POST", f"/api/v1/albums/{album['short_id']}/images", {"image_uuids": [one]}
        )
        shorts.append(album["short_id"])
    for short in shorts:
        assert (await _call(web, "GET", f"/api/v1/albums/{short}"))[1]["image_uuids"] == [one]
    status, _ = await _call(web, "DELETE", f"/api/v1/albums/{shorts[0]}")
    assert status == 204
    assert (await _call(web, "GET", f"/api/v1/albums/{shorts[0]}"))[0] == 404
    assert await Image.filter(id=images[0].id, deleted_at=None).exists()
    assert (await _call(web, "GET", f"/api/v1/albums/{shorts[1]}"))[1]["image_uuids"] == [one]
    # Removing it from the other album keeps it too; removing it twice: not in it.
    path = f"/api/v1/albums/{shorts[1]}/images/{one}"
    assert (await _call(web, "DELETE", path))[0] == 204
    status, body = await _call(web, "DELETE", path)
    assert status == 404 and _code(body) == "NOT_FOUND"
    assert await Image.filter(id=images[0].id).exists()


async def test_trashed_images_leave_the_album_and_come_back_with_a_restore(web: Web):
    images, _ = await _three(web)
    uuids = [str(i.uuid) for i in images]
    _, album = await _call(web, "POST", "/api/v1/albums", {"title": "A"})
    path = f"/api/v1/albums/{album['short_id']}"
    await _call(web, "POST", f"{path}/images", {"image_uuids": uuids})
    assert (await _call(web, "DELETE", f"/api/v1/images/{uuids[1]}"))[0] == 204
    _, shown = await _call(web, "GET", path)
    assert shown["image_uuids"] == [uuids[0], uuids[2]]
    # The order is of what is shown.
    status, _ = await _call(web, "PUT", f"{path}/order", {"image_uuids": [uuids[2], uuids[0]]})
    assert status == 200
    assert (await _call(web, "POST", f"/api/v1/images/{uuids[1]}/restore"))[0] == 200
    _, shown = await _call(web, "GET", path)
    assert shown["image_uuids"] == [uuids[2], uuids[0], uuids[1]]


async def test_bad_album_bodies_get_validation_errors_and_create_nothing(web: Web):
    await _three(web)
    for body in ({}, {"title": ""}, {"title": "x" * 201}, {"title": "x", "visibility": "secret"}):
        status, answer = await _call(web, "POST", "/api/v1/albums", body)
        assert status == 422 and _code(answer) == "VALIDATION_ERROR", body
    assert await Album.all().count() == 0


async def test_a_purged_image_leaves_every_album_and_stops_being_a_cover(web: Web):
    images, owner = await _three(web)
    album = await Album.create(short_id="alb1", owner=owner, title="A", cover=images[0])
    await _call(web, "POST", "/api/v1/albums/alb1/images", {"image_uuids": [str(images[0].uuid)]})
    # As the purge's last step does (pixelfox_app.internal.trash): the row goes.
    await Image.filter(id=images[0].id).delete()
    assert await AlbumImage.filter(album_id=album.id).count() == 0
    assert (await Album.get(id=album.id)).cover_id is None  # type: ignore[attr-defined]
    _, shown = await _call(web, "GET", "/api/v1/albums/alb1")
    assert shown["image_uuids"] == [] and shown["cover_image_uuid"] is None
