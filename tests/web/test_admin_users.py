"""The admin's Users page: search, paging, create, disable, admin flag, quota, invites."""

from __future__ import annotations

import re

from quart.testing import QuartClient

from pixelfox_app import knobs
from pixelfox_app.accounts.invites import usable_invite
from pixelfox_app.auth.passwords import hash_password
from pixelfox_app.models import Invite, User
from pixelfox_app.upload.guest import guest_user
from tests.image_rows import stored_image
from tests.web.conftest import PASSWORD, Web, text_of


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr data-user="([^"]+)">', html)


async def test_the_list_shows_each_users_images_and_bytes_and_searches_by_name(web: Web):
    await web.admin("root")
    ada = await web.user("ada")
    await web.user("adam")
    await web.user("bob")
    pool = await web.pool()
    await stored_image(ada, pool, 1000, [48])
    await stored_image(ada, pool, 2000, [48])

    status, html = await web.get("/admin/users")
    _, found = await web.get("/admin/users?q=ADA", htmx=True)

    assert status == 200
    assert _rows(html) == ["ada", "adam", "bob", "root"]
    ada_row = html.split('<tr data-user="ada">', 1)[1].split("</tr>", 1)[0]
    assert "<td data-images>2</td>" in ada_row
    assert 'data-bytes="3096"' in ada_row
    assert found.lstrip().startswith('<div class="card" id="users-table"')  # the table alone
    assert _rows(found) == ["ada", "adam"]


async def test_the_list_pages_by_fifty(web: Web):
    await web.admin("root")
    await User.bulk_create([User(username=f"user{n:03d}", password_hash="x") for n in range(60)])
    _, first = await web.get("/admin/users")
    _, second = await web.get("/admin/users?page=2")
    _, beyond = await web.get("/admin/users?page=99")

    assert len(_rows(first)) == 50
    assert "Page 1 of 2" in text_of(first)
    assert len(_rows(second)) == 11  # 60 users and root
    assert set(_rows(first)).isdisjoint(_rows(second))
    assert _rows(beyond) == _rows(second)


async def test_an_admin_creates_a_user_with_a_quota_who_can_log_in(web: Web):
    await web.admin("root")
    response = await web.post(
        "/admin/users",
        {"username": "carol", "password": PASSWORD, "quota": "2 GB", "is_admin": "on"},
        htmx=True,
    )
    html = await response.get_data(as_text=True)

    assert response.status_code == 200
    assert "carol was created" in text_of(html)
    assert 'id="users-table" hx-swap-oob="true"' in html
    carol = await User.get(username="carol")
    assert (carol.is_admin, carol.quota_bytes) == (True, 2 << 30)
    other = web.app.test_client()
    login = await other.post("/api/v1/auth/login", json={"username": "carol", "password": PASSWORD})
    assert login.status_code == 200


async def test_a_bad_new_user_is_refused_field_by_field_and_nothing_is_made(web: Web):
    await web.admin("root")
    taken = await web.post("/admin/users", {"username": "root", "password": PASSWORD}, htmx=True)
    short = await web.post("/admin/users", {"username": "dave", "password": "x"}, htmx=True)
    quota = await web.post(
        "/admin/users", {"username": "dave", "password": PASSWORD, "quota": "lots"}, htmx=True
    )
    assert taken.status_code == short.status_code == quota.status_code == 422
    assert "already exists" in text_of(await taken.get_data(as_text=True))
    assert "at least 8 characters" in text_of(await short.get_data(as_text=True))
    assert "size like 500 GB" in text_of(await quota.get_data(as_text=True))
    assert await User.filter(username="dave").count() == 0


async def test_disabling_a_user_ends_their_sessions_and_enabling_does_not_revive_them(web: Web):
    await web.admin("root")
    ada = await web.user("ada")
    browser: QuartClient = web.app.test_client()
    await browser.post("/api/v1/auth/login", json={"username": "ada", "password": PASSWORD})
    assert (await browser.get("/api/v1/auth/me")).status_code == 200

    disabled = await web.post(f"/admin/users/{ada.id}/disable", {}, htmx=True)
    assert "data-disabled" in await disabled.get_data(as_text=True)
    assert (await browser.get("/api/v1/auth/me")).status_code == 401
    enabled = await web.post(f"/admin/users/{ada.id}/enable", {}, htmx=True)

    assert "data-disabled" not in await enabled.get_data(as_text=True)
    assert (await User.get(id=ada.id)).is_active
    assert (await browser.get("/api/v1/auth/me")).status_code == 401


async def test_an_admin_cannot_disable_or_demote_themselves(web: Web):
    root = await web.admin("root")
    disable = await web.post(f"/admin/users/{root.id}/disable", {}, htmx=True)
    demote = await web.post(f"/admin/users/{root.id}/admin", {"admin": "off"}, htmx=True)
    assert "cannot disable your own" in text_of(await disable.get_data(as_text=True))
    assert "cannot take away your own" in text_of(await demote.get_data(as_text=True))
    root = await User.get(id=root.id)
    assert root.is_active and root.is_admin


async def test_make_admin_and_back(web: Web):
    await web.admin("root")
    ada = await web.user("ada")
    made = await web.post(f"/admin/users/{ada.id}/admin", {"admin": "on"}, htmx=True)
    assert "data-admin" in await made.get_data(as_text=True)
    assert (await User.get(id=ada.id)).is_admin
    await web.post(f"/admin/users/{ada.id}/admin", {"admin": "off"}, htmx=True)
    assert not (await User.get(id=ada.id)).is_admin


async def test_a_quota_is_set_in_human_units_and_cleared_with_an_empty_field(web: Web):
    await web.admin("root")
    ada = await web.user("ada")
    set_ = await web.post(f"/admin/users/{ada.id}/quota", {"quota": "500 MB"}, htmx=True)
    assert 'value="500 MB"' in await set_.get_data(as_text=True)
    assert (await User.get(id=ada.id)).quota_bytes == 500 << 20
    bad = await web.post(f"/admin/users/{ada.id}/quota", {"quota": "plenty"}, htmx=True)
    assert "size like" in text_of(await bad.get_data(as_text=True))
    assert (await User.get(id=ada.id)).quota_bytes == 500 << 20
    await web.post(f"/admin/users/{ada.id}/quota", {"quota": ""}, htmx=True)
    assert (await User.get(id=ada.id)).quota_bytes is None


async def test_an_unknown_user_is_a_404(web: Web):
    await web.admin("root")
    response = await web.post("/admin/users/99999/enable", {}, htmx=True)
    assert response.status_code == 404


async def test_invites_show_only_in_invite_mode_and_a_new_link_signs_up(web: Web):
    await web.admin("root")
    _, closed = await web.get("/admin/users")
    await knobs.put("signup_mode", "invite")
    _, invite_mode = await web.get("/admin/users")

    made = await web.post(
        "/admin/users/invites", {"max_uses": "3", "days": "2", "note": "club"}, htmx=True
    )
    html = await made.get_data(as_text=True)
    link = re.search(r'value="(http://app\.pixelfox\.test/signup\?invite=(inv_[^"]+))"', html)
    bad = await web.post("/admin/users/invites", {"max_uses": "0", "days": "2"}, htmx=True)

    assert 'id="invites"' not in closed
    assert 'id="invites"' in invite_mode
    assert made.status_code == 201
    assert link is not None
    invite = await usable_invite(link.group(2))
    assert invite is not None and (invite.max_uses, invite.note) == (3, "club")
    assert bad.status_code == 422
    assert "1 to 1000" in text_of(await bad.get_data(as_text=True))

    revoked = await web.post(f"/admin/users/invites/{invite.id}/revoke", {}, htmx=True)
    assert revoked.status_code == 200
    assert await usable_invite(link.group(2)) is None
    assert (await Invite.get(id=invite.id)).revoked_at is not None


async def test_a_plain_user_is_refused_the_page(web: Web):
    await User.create(username="ada", password_hash=hash_password(PASSWORD))
    await web.login("ada")
    status, _ = await web.get("/admin/users")
    assert status == 403


async def test_the_reserved_guest_account_is_marked_and_can_be_neither_enabled_nor_made_admin(
    web: Web,
):
    await web.admin("root")
    guest = await guest_user()
    _, html = await web.get("/admin/users?q=guest")
    enabled = await web.post(f"/admin/users/{guest.id}/enable", {}, htmx=True)
    promoted = await web.post(f"/admin/users/{guest.id}/admin", {"admin": "on"}, htmx=True)

    assert "data-guest" in html
    assert "Make admin" not in await promoted.get_data(as_text=True)
    assert enabled.status_code == promoted.status_code == 200
    guest = await User.get(id=guest.id)
    assert (guest.is_active, guest.is_admin) == (False, False)


async def test_an_admin_sets_a_users_password_and_their_sessions_end(web: Web):
    await web.admin("root")
    ada = await web.user("ada")
    browser: QuartClient = web.app.test_client()
    await browser.post("/api/v1/auth/login", json={"username": "ada", "password": PASSWORD})

    short = await web.post(f"/admin/users/{ada.id}/password", {"password": "x"}, htmx=True)
    done = await web.post(
        f"/admin/users/{ada.id}/password", {"password": "new pass 1234"}, htmx=True
    )

    assert "at least 8 characters" in text_of(await short.get_data(as_text=True))
    assert "Password set" in text_of(await done.get_data(as_text=True))
    assert (await browser.get("/api/v1/auth/me")).status_code == 401
    fresh = web.app.test_client()
    login = await fresh.post(
        "/api/v1/auth/login", json={"username": "ada", "password": "new pass 1234"}
    )
    assert login.status_code == 200
