"""Who may call the API: session cookies, personal API tokens, and the login limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pixelfox_app.models import ApiToken, User
from tests.app.conftest import PASSWORD, AppServer, GetServer

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_login_sets_a_session_cookie_that_identifies_the_user(app_server: AppServer):
    await app_server.user("ada")
    async with app_server.client() as client:
        assert (await client.get("/api/v1/auth/me")).status_code == 401
        await app_server.login(client, "ada")
        me = await client.get("/api/v1/auth/me")
        assert me.status_code == 200
        assert me.json()["username"] == "ada"
        await client.post("/api/v1/auth/logout")
        assert (await client.get("/api/v1/auth/me")).json()["error"]["code"] == "AUTH_REQUIRED"


async def test_wrong_password_and_unknown_user_get_the_same_answer(app_server: AppServer):
    await app_server.user("ada")
    async with app_server.client() as client:
        wrong = await client.post("/api/v1/auth/login", json={"username": "ada", "password": "x"})
        nobody = await client.post(
            "/api/v1/auth/login", json={"username": "bob", "password": PASSWORD}
        )
    assert wrong.status_code == nobody.status_code == 401
    assert wrong.json() == nobody.json()
    assert "set-cookie" not in wrong.headers


async def test_api_token_authenticates_and_only_its_hash_is_stored(app_server: AppServer):
    user = await app_server.user("ada")
    async with await app_server.token_client(user) as client:
        plaintext = client.headers["Authorization"].removeprefix("Bearer ")
        assert plaintext.startswith("pf_")
        me = await client.get("/api/v1/auth/me")
    assert me.status_code == 200 and me.json()["username"] == "ada"
    stored = await ApiToken.get(user=user)
    assert plaintext not in (stored.token_hash, stored.prefix + stored.token_hash)
    assert len(stored.token_hash) == 64
    assert stored.last_used_at is not None


async def test_revoked_token_and_disabled_user_are_refused(app_server: AppServer):
    user = await app_server.user("ada")
    async with await app_server.token_client(user) as client:
        await User.filter(id=user.id).update(is_active=False)
        disabled = await client.get("/api/v1/auth/me")
        await User.filter(id=user.id).update(is_active=True)
        await ApiToken.filter(user=user).update(revoked_at="2020-01-01T00:00:00+00:00")
        revoked = await client.get("/api/v1/auth/me")
    assert disabled.status_code == 403
    assert revoked.status_code == 401
    assert revoked.json()["error"]["code"] == "AUTH_REQUIRED"


async def test_login_is_rate_limited_per_address(app_server: AppServer):
    await app_server.user("ada")
    async with app_server.client() as client:
        answers = [
            await client.post("/api/v1/auth/login", json={"username": f"u{i}", "password": "x"})
            for i in range(11)
        ]
    assert [a.status_code for a in answers[:10]] == [401] * 10
    assert answers[10].status_code == 429
    assert answers[10].json()["error"]["code"] == "RATE_LIMITED"
    assert int(answers[10].headers["Retry-After"]) >= 1


COOKIE = "pixelfox_session"


def _from(address: str) -> dict[str, str]:
    # The app believes X-Forwarded-For only from a trusted proxy (127.0.0.1 here).
    return {"X-Forwarded-For": address}


async def test_a_logged_out_cookie_no_longer_works(app_server: AppServer):
    await app_server.user("ada")
    async with app_server.client() as client:
        await app_server.login(client, "ada")
        stolen = client.cookies[COOKIE]
        assert (await client.post("/api/v1/auth/logout")).status_code == 200
    # Whoever kept a copy of the cookie (it was signed and 30 days valid) is out too.
    async with app_server.client(cookies={COOKIE: stolen}) as replay:
        me = await replay.get("/api/v1/auth/me")
    assert (me.status_code, me.json()["error"]["code"]) == (401, "AUTH_REQUIRED")


async def test_a_password_change_logs_out_the_other_sessions_and_keeps_this_one(
    app_server: AppServer,
):
    await app_server.user("ada")
    new = "a much better passphrase"
    async with app_server.client() as laptop, app_server.client() as phone:
        await app_server.login(laptop, "ada")
        await app_server.login(phone, "ada")
        changed = await laptop.post(
            "/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": new}
        )
        laptop_me = await laptop.get("/api/v1/auth/me")
        phone_me = await phone.get("/api/v1/auth/me")
        old = await phone.post("/api/v1/auth/login", json={"username": "ada", "password": PASSWORD})
    assert changed.status_code == 200, changed.text
    assert changed.json()["ended_sessions"] == 1
    assert laptop_me.status_code == 200
    assert phone_me.status_code == 401
    assert old.status_code == 401
    async with app_server.client() as again:
        fresh = await again.post("/api/v1/auth/login", json={"username": "ada", "password": new})
    assert fresh.status_code == 200


async def test_a_password_change_needs_the_current_password(app_server: AppServer):
    await app_server.user("ada")
    async with app_server.client() as client:
        await app_server.login(client, "ada")
        wrong = await client.post(
            "/api/v1/auth/password",
            json={"current_password": "guess", "new_password": "whatever it is now"},
        )
        short = await client.post(
            "/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": "short"}
        )
        still = await client.get("/api/v1/auth/me")
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (403, "FORBIDDEN")
    assert short.status_code in (400, 422)
    assert still.status_code == 200


async def test_an_admin_disabling_a_user_ends_their_sessions_for_good(app_server: AppServer):
    ada = await app_server.user("ada")
    await app_server.user("root", is_admin=True)
    async with app_server.client() as user, app_server.client() as admin:
        await app_server.login(user, "ada")
        await app_server.login(admin, "root")
        disabled = await admin.post(f"/api/v1/admin/users/{ada.id}/disable")
        while_disabled = await user.get("/api/v1/auth/me")
        enabled = await admin.post(f"/api/v1/admin/users/{ada.id}/enable")
        after = await user.get("/api/v1/auth/me")
        listed = (await admin.get("/api/v1/admin/users")).json()["users"]
        itself = await admin.post(f"/api/v1/admin/users/{listed[1]['id']}/disable")
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["is_active"] is False and disabled.json()["live_sessions"] == 0
    assert while_disabled.status_code == 401
    assert enabled.json()["is_active"] is True
    # Enabled again, the account logs in afresh: the old cookie stays dead.
    assert after.status_code == 401
    assert [(u["username"], u["live_sessions"]) for u in listed] == [("ada", 0), ("root", 1)]
    assert (itself.status_code, itself.json()["error"]["code"]) == (403, "FORBIDDEN")


async def test_an_operator_setting_a_password_ends_every_session(app_server: AppServer):
    from pixelfox_app.auth import accounts

    await app_server.user("ada")
    async with app_server.client() as client:
        await app_server.login(client, "ada")
        await accounts.set_password("ada", "set by the operator")
        me = await client.get("/api/v1/auth/me")
    assert me.status_code == 401


async def test_guessing_from_one_address_is_throttled(app_with: GetServer):
    app = await app_with(trusted_proxies="127.0.0.1")
    await app.user("admin", is_admin=True)
    async with app.client(headers=_from("203.0.113.9")) as attacker:
        answers = [
            await attacker.post("/api/v1/auth/login", json={"username": "admin", "password": "x"})
            for _ in range(11)
        ]
    assert [a.status_code for a in answers[:10]] == [401] * 10
    assert answers[10].status_code == 429
    assert answers[10].json()["error"]["code"] == "RATE_LIMITED"


async def test_guessing_from_many_addresses_does_not_lock_the_admin_out(app_with: GetServer):
    app = await app_with(trusted_proxies="127.0.0.1")
    await app.user("admin", is_admin=True)
    async with app.client(headers=_from("198.51.100.7")) as usual:
        await app.login(usual, "admin")  # the admin's usual address, known from now on
    attempts = []
    async with app.client() as botnet:
        for i in range(12):  # a few tries each from many addresses: no address limit hit
            address = f"203.0.113.{10 + i // 3}"
            attempts.append(
                await botnet.post(
                    "/api/v1/auth/login",
                    json={"username": "admin", "password": f"guess{i}"},
                    headers=_from(address),
                )
            )
        new_address = await botnet.post(
            "/api/v1/auth/login",
            json={"username": "admin", "password": PASSWORD},
            headers=_from("192.0.2.44"),
        )
    async with app.client(headers=_from("198.51.100.7")) as admin:
        real = await admin.post(
            "/api/v1/auth/login", json={"username": "admin", "password": PASSWORD}
        )
    # The account's limit holds against the guessers (10 a minute from unknown
    # addresses, and the admin's own first login from 198.51.100.7 was one) ...
    assert [a.status_code for a in attempts] == [401] * 9 + [429] * 3
    assert attempts[-1].json()["error"]["details"]["limit"] == "login-user"
    # ... and against a new address, but the admin at a known address gets in.
    assert new_address.status_code == 429
    assert real.status_code == 200, real.text


async def test_a_user_makes_lists_and_revokes_personal_api_tokens(app_server: AppServer):
    await app_server.user("ada")
    async with app_server.client() as browser:
        await app_server.login(browser, "ada")
        made = await browser.post("/api/v1/auth/tokens", json={"name": "backup script"})
        token = made.json()["token"]
        async with app_server.client(headers={"Authorization": f"Bearer {token}"}) as script:
            me = await script.get("/api/v1/auth/me")
            minted = await script.post("/api/v1/auth/tokens", json={"name": "another"})
            listed = (await browser.get("/api/v1/auth/tokens")).json()["tokens"]
            revoked = await browser.delete(f"/api/v1/auth/tokens/{made.json()['id']}")
            after = await script.get("/api/v1/auth/me")
    assert made.status_code == 201, made.text
    assert token.startswith("pf_") and made.json()["prefix"] == token[:12]
    assert me.json()["username"] == "ada"
    # A leaked token cannot mint the tokens that would outlive its revocation.
    assert (minted.status_code, minted.json()["error"]["code"]) == (403, "FORBIDDEN")
    assert [t["name"] for t in listed] == ["backup script"]
    assert "token" not in listed[0]
    assert revoked.status_code == 200
    assert after.status_code == 401


async def test_a_token_made_with_an_expiry_is_refused_once_it_has_passed(app_server: AppServer):
    await app_server.user("ada")
    async with app_server.client() as browser:
        await app_server.login(browser, "ada")
        made = await browser.post(
            "/api/v1/auth/tokens", json={"name": "for a week", "expires_in_days": 7}
        )
        too_long = await browser.post(
            "/api/v1/auth/tokens", json={"name": "forever-ish", "expires_in_days": 100_000}
        )
        token = made.json()["token"]
        async with app_server.client(headers={"Authorization": f"Bearer {token}"}) as script:
            before = await script.get("/api/v1/auth/me")
            await ApiToken.filter(id=made.json()["id"]).update(
                expires_at="2020-01-01T00:00:00+00:00"
            )
            after = await script.get("/api/v1/auth/me")
            write = await script.post("/api/v1/upload/sessions", json={"file_size": 10})
        listed = (await browser.get("/api/v1/auth/tokens")).json()["tokens"]
    assert made.status_code == 201, made.text
    expires = datetime.fromisoformat(made.json()["expires_at"])
    assert abs((expires - datetime.now(UTC)) - timedelta(days=7)) < timedelta(minutes=1)
    assert too_long.status_code == 422
    assert before.status_code == 200
    assert (after.status_code, after.json()["error"]["code"]) == (401, "AUTH_REQUIRED")
    assert write.status_code == 401
    assert "expired" in write.json()["error"]["message"]
    assert [(t["name"], t["expired"]) for t in listed] == [("for a week", True)]
