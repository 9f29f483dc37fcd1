"""Album pages, the album editor and the sharing tags, rendered by the real app and database.

Each test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import re
from html import unescape

import pytest

from pixelfox_app.config import AppSettings
from pixelfox_app.models import Album, AlbumImage, Image, Visibility
from tests.web.album_rows import ready_image
from tests.web.conftest import PUBLIC, Web, make_settings, text_of

NODE = "http://s01.pixelfox.test"


@pytest.fixture
def settings(database_url: str, redis_url: str, redis_prefix: str) -> AppSettings:
    return make_settings(database_url, redis_url, redis_prefix)


def _meta(html: str) -> dict[str, str]:
    """The page's Open Graph and Twitter tags (and robots), by name."""
    found = re.findall(r'<meta (?:property|name)="([^"]+)" content="([^"]*)">', html)
    return {name: unescape(content) for name, content in found}


def _order(html: str) -> list[str]:
    return re.findall(
        r'<li class="album-entry" draggable="true" data-uuid="[^"]+" data-image="(\w+)"', html
    )


async def _album(web: Web, visibility: Visibility = Visibility.PUBLIC, n: int = 3):  # type: ignore[no-untyped-def]
    ada = await web.user("ada")
    pool = await web.pool("hot-1", "s01")
    images = [await ready_image(ada, pool, f"pic{i}") for i in range(n)]
    album = await Album.create(
        short_id="alb1", owner=ada, title="Alps", description="Summer", visibility=visibility
    )
    for position, image in enumerate(images):
        await AlbumImage.create(album=album, image=image, position=position)
    return ada, pool, album, images


async def test_the_image_page_tags_a_link_preview_with_an_absolute_variant_on_its_node(web: Web):
    ada = await web.user("ada")
    image = await ready_image(ada, await web.pool("hot-1", "s01"), "pic0")
    status, html = await web.get("/i/pic0")
    assert status == 200
    meta = _meta(html)
    # The smallest size at least 1200 px wide, as JPEG (what every crawler shows).
    assert meta["og:image"] == f"{NODE}/uploads/variants/2026/12/07/{image.uuid}_medium.jpeg"
    assert (meta["og:image:width"], meta["og:image:height"]) == ("1280", "960")
    assert meta["og:url"] == f"{PUBLIC}/i/pic0"
    assert meta["og:title"] == "pic0.jpg"
    assert meta["twitter:card"] == "summary_large_image"
    assert meta["twitter:image"] == meta["og:image"]
    assert "robots" not in meta


async def test_a_cdn_base_replaces_the_node_in_the_tags(web: Web):
    ada = await web.user("ada")
    pool = await web.pool("hot-1", "s01", cdn_base_url="https://cdn.example.org")
    image = await ready_image(ada, pool, "pic0")
    _, html = await web.get("/i/pic0")
    assert _meta(html)["og:image"] == (
        f"https://cdn.example.org/uploads/variants/2026/12/07/{image.uuid}_medium.jpeg"
    )


async def test_private_images_get_no_preview_tags_and_unlisted_ones_are_not_indexed(web: Web):
    ada = await web.user("ada")
    pool = await web.pool()
    await ready_image(ada, pool, "secret", visibility=Visibility.PRIVATE)
    await ready_image(ada, pool, "bylink", visibility=Visibility.UNLISTED)
    await web.login("ada")
    status, html = await web.get("/i/secret")
    assert status == 200  # the owner sees it ...
    meta = _meta(html)
    assert not [k for k in meta if k.startswith(("og:", "twitter:"))]  # ... but nothing to preview
    assert meta["robots"] == "noindex"
    _, html = await web.get("/i/bylink")
    meta = _meta(html)
    assert meta["robots"] == "noindex" and meta["og:image"].startswith(NODE)


async def test_embed_codes_cover_the_original_and_every_size(web: Web):
    ada = await web.user("ada")
    image = await ready_image(ada, await web.pool(), "pic0")
    _, html = await web.get("/i/pic0")
    codes = dict(re.findall(r'id="embed-image-([\w-]+)" value="([^"]*)"', html))
    codes = {k: unescape(v) for k, v in codes.items()}
    page = f"{PUBLIC}/i/pic0"
    original = f"{NODE}/uploads/original/2026/12/07/{image.uuid}.jpg"
    assert codes["original-direct"] == original
    assert codes["original-bbcode"] == f"[url={page}][img]{original}[/img][/url]"
    assert codes["original-markdown"] == f"[![pic0.jpg]({original})]({page})"
    assert codes["original-html"] == (
        f'<a href="{page}"><img src="{original}" alt="pic0.jpg" width="1600" height="1200"></a>'
    )
    for kind in ("medium", "thumb400"):
        direct = f"{NODE}/uploads/variants/2026/12/07/{image.uuid}_{kind}.jpeg"
        assert codes[f"{kind}-direct"] == direct
        assert direct in codes[f"{kind}-html"] and direct in codes[f"{kind}-markdown"]
        assert f"[img]{direct}[/img]" in codes[f"{kind}-bbcode"]
    # A copy button for each.
    for key in codes:
        assert f'data-copy="#embed-image-{key}"' in html


async def test_the_album_page_shows_previews_and_originals_absolute_on_their_nodes(web: Web):
    ada, _, _, images = await _album(web)
    other = await ready_image(ada, await web.pool("hot-2", "s02"), "far")
    await AlbumImage.create(album_id=(await Album.get(short_id="alb1")).id, image=other, position=9)
    status, html = await web.get("/a/alb1")
    assert status == 200
    assert re.findall(r'<figure class="tile" data-image="(\w+)"', html) == [
        "pic0",
        "pic1",
        "pic2",
        "far",
    ]
    originals = re.findall(r'href="([^"]+)" data-original', html)
    assert originals == [
        *(f"{NODE}/uploads/original/2026/12/07/{i.uuid}.jpg" for i in images),
        f"http://s02.pixelfox.test/uploads/original/2026/12/07/{other.uuid}.jpg",
    ]
    previews = re.findall(r'<img src="([^"]+)"', html)
    assert previews[0] == f"{NODE}/uploads/variants/2026/12/07/{images[0].uuid}_thumb400.webp"
    assert previews[-1].startswith("http://s02.pixelfox.test/uploads/variants/")
    meta = _meta(html)
    assert meta["og:title"] == "Alps" and meta["og:description"] == "Summer"
    assert meta["og:url"] == f"{PUBLIC}/a/alb1"
    assert meta["og:image"] == f"{NODE}/uploads/variants/2026/12/07/{images[0].uuid}_medium.jpeg"
    assert "robots" not in meta


async def test_the_chosen_cover_is_the_albums_preview(web: Web):
    _, _, album, images = await _album(web)
    await Album.filter(id=album.id).update(cover_id=images[2].id)
    _, html = await web.get("/a/alb1")
    assert str(images[2].uuid) in _meta(html)["og:image"]


async def test_a_private_album_is_its_owners_with_signed_links_and_no_tags(web: Web):
    await _album(web, Visibility.PRIVATE)
    await web.user("bob")
    assert (await web.get("/a/alb1"))[0] == 404
    await web.login("bob")
    assert (await web.get("/a/alb1"))[0] == 404
    await web.login("ada")
    status, html = await web.get("/a/alb1")
    assert status == 200
    assert not [k for k in _meta(html) if k.startswith(("og:", "twitter:"))]
    assert _meta(html)["robots"] == "noindex"


async def test_private_images_in_a_shared_album_show_to_their_owner_only_and_signed(web: Web):
    ada, pool, album, _ = await _album(web, Visibility.UNLISTED)
    secret = await ready_image(ada, pool, "secret", visibility=Visibility.PRIVATE)
    await AlbumImage.create(album=album, image=secret, position=0)
    await Album.filter(id=album.id).update(cover_id=secret.id)
    status, html = await web.get("/a/alb1")  # anonymous
    assert status == 200 and 'data-image="secret"' not in html
    meta = _meta(html)
    assert meta["robots"] == "noindex"
    assert str(secret.uuid) not in html and "og:image" in meta  # the preview is a public one
    await web.login("ada")
    _, html = await web.get("/a/alb1")
    original = re.search(rf'href="([^"]*{secret.uuid}\.jpg[^"]*)" data-original', html).group(1)
    assert original.startswith(f"{NODE}/uploads/private/original/")
    assert "expires" in unescape(original)
    # The cover is private: the album's preview shows none of its files.
    assert str(secret.uuid) not in _meta(html).get("og:image", "")


async def test_my_albums_lists_mine_and_a_new_one_opens_in_the_editor(web: Web):
    _, _, album, images = await _album(web)
    await Album.filter(id=album.id).update(cover_id=images[1].id)
    bob = await web.user("bob")
    await Album.create(short_id="bobs1", owner=bob, title="Bob's")
    await web.login("ada")
    status, html = await web.get("/albums")
    assert status == 200
    assert re.findall(r'data-album="(\w+)"', html) == ["alb1"]
    assert "3 images" in text_of(html)
    thumbs = re.findall(r'<img src="([^"]+)"', html)
    assert thumbs == [f"{NODE}/uploads/variants/2026/12/07/{images[1].uuid}_thumb400.webp"]
    # The cover in the trash: the first image stands for the album, which counts 2.
    await Image.filter(id=images[1].id).update(deleted_at=images[1].created_at)
    _, html = await web.get("/albums")
    assert "2 images" in text_of(html) and str(images[0].uuid) in html
    response = await web.post("/albums", {"title": "New one", "visibility": "unlisted"})
    assert response.status_code == 302
    album = await Album.get(title="New one")
    assert response.headers["Location"] == f"/a/{album.short_id}/edit"
    assert album.visibility == Visibility.UNLISTED
    response = await web.post("/albums", {"title": " ", "visibility": "public"})
    assert response.status_code == 422 and await Album.filter(owner_id=album.owner_id).count() == 2  # type: ignore[attr-defined]


async def test_the_editor_adds_moves_covers_removes_and_reorders(web: Web):
    ada, pool, album, images = await _album(web, n=2)
    extra = [await ready_image(ada, pool, f"new{i}") for i in range(2)]
    await web.login("ada")
    status, html = await web.get("/a/alb1/edit")
    assert status == 200 and _order(html) == ["pic0", "pic1"]
    assert re.findall(r'data-candidate="(\w+)"', html) == ["new1", "new0"]
    path = "/a/alb1"

    async def form(action: str, *uuids: object) -> str:
        headers = {"X-CSRF-Token": await web.csrf(), "HX-Request": "true"}
        body = "&".join(f"image={u}" for u in uuids)
        response = await web.client.post(
            path + action,
            data=body,
            headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 200, await response.get_data(as_text=True)
        return await response.get_data(as_text=True)

    html = await form("/images", extra[0].uuid, extra[1].uuid)
    assert html.lstrip().startswith('<div id="album-entries-box"')
    assert _order(html) == ["pic0", "pic1", "new0", "new1"]
    assert re.findall(r'data-candidate="(\w+)"', html) == []
    html = await form("/entry/up", extra[0].uuid)
    assert _order(html) == ["pic0", "new0", "pic1", "new1"]
    # The moved entry's button keeps the focus (keyboard users go on pressing it).
    assert re.search(r'aria-label="Move up: new0.jpg"[^>]*autofocus', html)
    # Only the ends cannot move further.
    disabled = re.findall(r'aria-label="Move (up|down): (\w+)\.jpg"\s+disabled', html)
    assert disabled == [("up", "pic0"), ("down", "new1")]
    html = await form("/entry/down", images[0].uuid)
    assert _order(html) == ["new0", "pic0", "pic1", "new1"]
    html = await form("/order", *(i.uuid for i in (extra[1], images[1], images[0], extra[0])))
    assert _order(html) == ["new1", "pic1", "pic0", "new0"]
    html = await form("/entry/cover", images[0].uuid)
    assert re.search(r'data-image="pic0".*?data-cover', html, re.S)
    assert (await Album.get(id=album.id)).cover_id == images[0].id  # type: ignore[attr-defined]
    html = await form("/entry/remove", images[1].uuid)
    assert _order(html) == ["new1", "pic0", "new0"]
    assert await Image.filter(id=images[1].id, deleted_at=None).exists()
    # A stale order (the album changed meanwhile) is refused and says so.
    response = await web.client.post(
        path + "/order",
        data=f"image={images[0].uuid}",
        headers={
            "X-CSRF-Token": await web.csrf(),
            "HX-Request": "true",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert response.status_code == 422
    assert "every image of the album" in text_of(await response.get_data(as_text=True))
    _, page = await web.get("/a/alb1")
    assert re.findall(r'<figure class="tile" data-image="(\w+)"', page) == ["new1", "pic0", "new0"]


async def test_details_are_saved_and_deleting_the_album_keeps_its_images(web: Web):
    _, _, album, images = await _album(web)
    await web.login("ada")
    response = await web.post(
        "/a/alb1/edit",
        {"title": "Alps 2026", "description": "x", "visibility": "private"},
        htmx=True,
    )
    assert response.status_code == 200 and "Saved" in await response.get_data(as_text=True)
    changed = await Album.get(id=album.id)
    assert (changed.title, changed.visibility) == ("Alps 2026", Visibility.PRIVATE)
    response = await web.post("/a/alb1/delete", {}, htmx=True)
    assert response.headers["HX-Redirect"] == "/albums"
    assert not await Album.filter(id=album.id).exists()
    assert await AlbumImage.all().count() == 0
    assert await Image.filter(id__in=[i.id for i in images], deleted_at=None).count() == 3


async def test_others_cannot_edit_an_album(web: Web):
    _, _, album, images = await _album(web)
    await web.user("bob")
    await web.login("bob")
    status, html = await web.get("/a/alb1/edit")
    assert status == 403 and "owner or an admin" in text_of(html)
    for action in ("/delete", "/entry/remove", "/order"):
        response = await web.post(f"/a/alb1{action}", {"image": str(images[0].uuid)})
        assert response.status_code == 403, action
    assert await AlbumImage.filter(album_id=album.id).count() == 3
    assert (await web.get("/a/nope/edit"))[0] == 404


async def test_my_images_adds_the_ticked_images_to_an_album(web: Web):
    ada, pool, album, images = await _album(web, n=1)
    more = [await ready_image(ada, pool, f"more{i}") for i in range(2)]
    await web.user("bob")
    await web.login("ada")
    _, html = await web.get("/images")
    assert re.findall(r'<option value="(\w+)">Alps</option>', html) == ["alb1"]
    response = await web.client.post(
        "/images/album",
        data="album=alb1&image=more1&image=more0&image=pic0",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-CSRF-Token": await web.csrf(),
        },
    )
    assert response.status_code == 302 and response.headers["Location"] == "/a/alb1/edit"
    entries = await AlbumImage.filter(album_id=album.id).order_by("position")
    assert [e.image_id for e in entries] == [images[0].id, more[1].id, more[0].id]
    # Not another's album, and only one's own images.
    await web.login("bob")
    response = await web.post("/images/album", {"album": "alb1", "image": "more0"})
    assert response.status_code == 403
    await web.login("ada")
    for wrong in ("nosuch", "x" * 40):
        response = await web.post("/images/album", {"album": "alb1", "image": wrong})
        assert response.status_code == 422
    response = await web.post("/images/album", {"album": "y" * 40, "image": "pic0"})
    assert response.status_code == 404
    assert await AlbumImage.filter(album_id=album.id).count() == 3


async def test_the_upload_page_offers_the_users_albums_and_preselects_one(web: Web):
    ada, _, _, _ = await _album(web, n=0)
    await Album.create(short_id="alb2", owner=ada, title="Later")
    bob = await web.user("bob")
    await Album.create(short_id="bobs1", owner=bob, title="Bob's")
    await web.login("ada")
    _, html = await web.get("/upload?album=alb1")
    options = re.findall(r'<option value="(\w*)"\s*(selected)?\s*>([^<]+)</option>', html)
    assert [o for o in options if o[0] in {"", "alb1", "alb2", "bobs1"}] == [
        ("", "", "none"),
        ("alb2", "", "Later"),
        ("alb1", "selected", "Alps"),
    ]
    config = re.search(r'id="upload-config"[^>]*>([^<]+)<', html).group(1)
    assert '"albumImagesUrl": "/api/v1/albums/{album}/images"' in config
