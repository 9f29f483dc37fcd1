"""Who may call the API: session cookies, personal API tokens, and the login limit."""

from __future__ import annotations

import pytest

from pixelfox_app.models import ApiToken, User
from tests.app.conftest import PASSWORD, AppServer

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
