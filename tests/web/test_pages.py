"""Pages a user sees: login and logout, the upload page, the image page and "my images"."""

from __future__ import annotations

import json
import re
import uuid
from html import unescape

from pixelfox_app import knobs
from pixelfox_app.models import Image, ImageVariant, User, Visibility
from tests.web.conftest import PUBLIC, Web, text_of


async def _image(owner: User, pool, n: int = 0, **fields) -> Image:  # type: ignore[no-untyped-def]
    values = {
        "uuid": uuid.uuid4(),
        "short_id": f"img{n:05d}",
        "owner": owner,
        "pool": pool,
        "path": f"original/2026/11/27/{n:05d}.jpg",
        "original_filename": f"photo-{n}.jpg",
        "size": 1000 + n,
        "sha256": "0" * 64,
        "mime": "image/jpeg",
        "width": 640,
        "height": 480,
        "state": "ready",
    }
    values.update(fields)
    return await Image.create(**values)


async def test_login_with_the_right_password_leads_to_the_upload_page(web: Web):
    await web.user("ada")
    response = await web.login("ada")
    assert response.status_code == 302
    assert response.headers["Location"] == "/upload"
    status, html = await web.get("/upload")
    assert status == 200 and "ada" in text_of(html)


async def test_a_wrong_password_shows_the_form_again_with_a_message(web: Web):
    await web.user("ada")
    response = await web.login("ada", "wrong")
    assert response.status_code == 401
    assert "Wrong username or password." in text_of(await response.get_data(as_text=True))
    status, _ = await web.get("/upload")
    assert status == 302


async def test_logins_are_rate_limited_and_the_form_says_how_long_to_wait(web: Web):
    await web.user("ada")
    statuses = [(await web.login("ada", f"guess-{i}")).status_code for i in range(11)]
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429
    last = await web.login("ada")  # even the right password waits now
    assert last.status_code == 429
    assert int(last.headers["Retry-After"]) > 0
    assert re.search(r"wait \d+ s", text_of(await last.get_data(as_text=True)))


async def test_after_login_the_browser_returns_to_a_local_page_only(web: Web):
    await web.user("ada")
    token = await web.csrf()
    form = {"username": "ada", "password": "correct horse battery staple", "csrf_token": token}
    local = await web.client.post("/login", form={**form, "next": "/images?page=2"})
    assert local.headers["Location"] == "/images?page=2"
    await web.client.post("/logout", form={"csrf_token": await web.csrf()})
    form["csrf_token"] = await web.csrf()
    evil = await web.client.post("/login", form={**form, "next": "//evil.example/x"})
    assert evil.headers["Location"] == "/upload"


async def test_logout_ends_the_session(web: Web):
    await web.user("ada")
    await web.login("ada")
    response = await web.client.post("/logout", form={"csrf_token": await web.csrf()})
    assert response.status_code == 302
    status, _ = await web.get("/images")
    assert status == 302


async def test_pages_send_an_anonymous_visitor_to_the_login_form_and_back(web: Web):
    response = await web.client.get("/images?page=3")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/images%3Fpage%3D3"
    htmx = await web.client.get("/admin/nodes", headers={"HX-Request": "true"})
    assert htmx.headers["HX-Redirect"].startswith("/login?next=/admin/nodes")


async def test_the_upload_page_tells_its_script_the_operators_limits(web: Web):
    await web.user("ada")
    await web.login("ada")
    await knobs.put("max_upload_bytes", 5 * 1024 * 1024)
    await knobs.put("allowed_types", ["image/jpeg", "image/png"])
    await knobs.put("direct_upload", False)
    status, html = await web.get("/upload")
    assert status == 200
    raw = re.search(
        r'<script type="application/json" id="upload-config">(.*?)</script>', html, re.S
    )
    config = json.loads(raw.group(1))
    assert config["maxBytes"] == 5 * 1024 * 1024
    assert config["allowedTypes"] == ["image/jpeg", "image/png"]
    assert config["direct"] is False
    assert config["sessionUrl"] == "/api/v1/upload/sessions"
    assert 'accept="image/jpeg,image/png"' in html
    assert "up to 5.0 MB each" in text_of(html)
    # Its uploader lives on the body: no boosted navigation may carry it to other pages.
    assert '<body hx-boost="false"' in html
    _, other = await web.get("/images")
    assert '<body hx-boost="true"' in other


async def test_the_image_page_links_every_variant_absolutely_on_its_node(web: Web):
    ada = await web.user("ada")
    pool = await web.pool("hot-1", "s01")
    image = await _image(ada, pool)
    for kind, width in (("thumb200", 200), ("medium", 1280)):
        await ImageVariant.create(
            image=image,
            pool=pool,
            kind=kind,
            format="webp",
            size=100,
            width=width,
            height=width,
            path=f"variants/2026/11/27/{image.uuid}_{kind}.webp",
        )
    status, html = await web.get(f"/i/{image.short_id}")
    assert status == 200
    links = re.findall(r'value="(http[^"]+)"', html)
    assert f"{PUBLIC}/i/{image.short_id}" in links
    assert "http://s01.pixelfox.test/uploads/original/2026/11/27/00000.jpg" in links
    assert (
        f"http://s01.pixelfox.test/uploads/variants/2026/11/27/{image.uuid}_thumb200.webp" in links
    )
    assert f"http://s01.pixelfox.test/uploads/variants/2026/11/27/{image.uuid}_medium.webp" in links


async def test_a_private_image_looks_missing_to_everybody_but_its_owner(web: Web):
    ada = await web.user("ada")
    await web.user("bob")
    image = await _image(ada, await web.pool(), visibility=Visibility.PRIVATE)
    status, _ = await web.get(f"/i/{image.short_id}")
    assert status == 404
    await web.login("bob")
    status, _ = await web.get(f"/i/{image.short_id}")
    assert status == 404
    await web.login("ada")
    status, html = await web.get(f"/i/{image.short_id}")
    assert status == 200
    # Its file links are signed and expire (nginx checks them, no Python on the way).
    original = re.search(r'id="link-original" value="([^"]+)"', html).group(1)
    assert original.startswith("http://s01.pixelfox.test/uploads/original/")
    assert "?" in original and "expires" in unescape(original).lower()


async def test_my_images_shows_only_mine_newest_first_24_to_a_page(web: Web):
    ada, bob = await web.user("ada"), await web.user("bob")
    pool = await web.pool()
    for n in range(30):
        await _image(ada, pool, n)
    await _image(bob, pool, 999)
    await web.login("ada")
    status, first = await web.get("/images")
    shown = re.findall(r'data-image="(\w+)"', first)
    assert status == 200 and len(shown) == 24
    assert shown[0] == "img00029" and "img00999" not in shown
    assert "30 images" in text_of(first)
    _, second = await web.get("/images?page=2")
    assert re.findall(r'data-image="(\w+)"', second) == [f"img{n:05d}" for n in range(5, -1, -1)]
    _, fragment = await web.get("/images?page=2", htmx=True)
    assert fragment.lstrip().startswith('<div id="image-grid">')
