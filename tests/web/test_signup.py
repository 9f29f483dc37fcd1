"""Sign-up in each of the operator's modes: closed, invite links, open."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from pixelfox_app import knobs
from pixelfox_app.accounts.invites import create_invite, invite_hash, take_use
from pixelfox_app.models import Invite, User
from tests.web.conftest import PASSWORD, Web, text_of


async def _sign_up(web: Web, username: str, invite: str = "", password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return await web.client.post(
        "/signup",
        form={
            "username": username,
            "password": password,
            "password2": password,
            "invite": invite,
            "csrf_token": await web.csrf(),
        },
    )


async def test_sign_up_is_closed_by_default_and_the_page_says_whom_to_ask(web: Web):
    status, html = await web.get("/signup")
    refused = await _sign_up(web, "mallory")

    assert status == 403
    assert "Sign-up is closed" in text_of(html)
    assert refused.status_code == 403
    assert "made by an administrator" in text_of(await refused.get_data(as_text=True))
    assert await User.filter(username="mallory").count() == 0
    _, login = await web.get("/login")
    assert 'id="signup-link"' not in login


async def test_open_sign_up_makes_a_logged_in_account_with_the_default_quota(web: Web):
    await knobs.put("signup_mode", "open")
    await knobs.put("signup_quota_bytes", 50 << 20)
    _, login = await web.get("/login")
    status, _ = await web.get("/signup")

    response = await _sign_up(web, "newbie")

    assert 'id="signup-link"' in login
    assert status == 200
    assert response.status_code == 302
    assert response.headers["Location"] == "/upload"
    user = await User.get(username="newbie")
    assert (user.is_admin, user.is_active, user.quota_bytes) == (False, True, 50 << 20)
    me = await web.client.get("/api/v1/auth/me")
    assert (await me.get_json())["username"] == "newbie"


async def test_open_sign_up_without_a_default_quota_leaves_the_account_unlimited(web: Web):
    await knobs.put("signup_mode", "open")
    assert (await _sign_up(web, "newbie")).status_code == 302
    assert (await User.get(username="newbie")).quota_bytes is None


async def test_a_taken_name_a_bad_name_a_short_password_and_a_typo_are_each_explained(web: Web):
    await knobs.put("signup_mode", "open")
    await web.user("Ada")

    taken = await _sign_up(web, "ada")
    bad = await _sign_up(web, "../root")
    short = await _sign_up(web, "bob", password="short")
    typo = await web.client.post(
        "/signup",
        form={
            "username": "bob",
            "password": PASSWORD,
            "password2": PASSWORD + "!",
            "csrf_token": await web.csrf(),
        },
    )

    assert taken.status_code == 422
    assert "taken" in text_of(await taken.get_data(as_text=True))
    assert bad.status_code == 422
    assert "letters, digits" in text_of(await bad.get_data(as_text=True))
    assert short.status_code == 422
    assert "at least 8 characters" in text_of(await short.get_data(as_text=True))
    assert typo.status_code == 422
    assert "differ" in text_of(await typo.get_data(as_text=True))
    assert await User.all().count() == 1


async def test_open_sign_up_is_rate_limited_per_address(web: Web):
    await knobs.put("signup_mode", "open")
    await knobs.put("signup_rate_limit_per_minute", 2)
    answers = [(await _sign_up(web, f"user{n}")).status_code for n in range(3)]
    await web.client.post("/logout", form={"csrf_token": await web.csrf()})

    assert answers[2] == 429
    assert await User.filter(username="user2").count() == 0


async def test_invite_mode_needs_a_usable_invite_and_counts_its_uses(web: Web):
    await knobs.put("signup_mode", "invite")
    token, invite = await create_invite(None, max_uses=2, days=3)

    without, _ = await web.get("/signup")
    forged, _ = await web.get("/signup?invite=inv_forged-and-long-enough-to-look")
    with_it, page = await web.get(f"/signup?invite={token}")
    no_invite = await _sign_up(web, "nobody")
    first = await _sign_up(web, "first", token)
    web.client.cookie_jar.clear()  # type: ignore[union-attr]
    second = await _sign_up(web, "second", token)
    web.client.cookie_jar.clear()  # type: ignore[union-attr]
    third = await _sign_up(web, "third", token)
    after, _ = await web.get(f"/signup?invite={token}")

    assert (without, forged, with_it) == (403, 403, 200)
    assert 'name="invite" value="' + token in page
    assert no_invite.status_code == 403
    assert (first.status_code, second.status_code) == (302, 302)
    assert third.status_code == 403
    assert "not valid, used up or expired" in text_of(await third.get_data(as_text=True))
    assert after == 403
    assert (await Invite.get(id=invite.id)).uses == 2
    assert set(await User.all().values_list("username", flat=True)) == {"first", "second"}
    # Only the token's hash is kept.
    stored = await Invite.get(id=invite.id)
    assert stored.token_hash == invite_hash(token) and token not in stored.prefix + stored.note


async def test_an_expired_or_revoked_invite_signs_nobody_up(web: Web):
    await knobs.put("signup_mode", "invite")
    expired, old = await create_invite(None)
    await Invite.filter(id=old.id).update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    revoked, gone = await create_invite(None)
    await Invite.filter(id=gone.id).update(revoked_at=datetime.now(UTC))

    assert (await _sign_up(web, "late", expired)).status_code == 403
    assert (await _sign_up(web, "revoked", revoked)).status_code == 403
    assert await User.all().count() == 0


async def test_a_taken_name_gives_the_invites_use_back(web: Web):
    await knobs.put("signup_mode", "invite")
    await web.user("ada")
    token, invite = await create_invite(None, max_uses=1)

    refused = await _sign_up(web, "ada", token)
    accepted = await _sign_up(web, "bob", token)

    assert refused.status_code == 422
    assert accepted.status_code == 302
    assert (await Invite.get(id=invite.id)).uses == 1


async def test_two_sign_ups_racing_for_an_invites_last_use_get_it_once(web: Web):
    token, invite = await create_invite(None, max_uses=1)
    results = await asyncio.gather(*(_take(token) for _ in range(5)), return_exceptions=True)
    assert sum(1 for r in results if isinstance(r, Invite)) == 1
    assert {getattr(r, "code", None) for r in results if not isinstance(r, Invite)} == {
        "INVITE_INVALID"
    }
    assert (await Invite.get(id=invite.id)).uses == 1


async def _take(token: str) -> Invite:
    return await take_use(token)
