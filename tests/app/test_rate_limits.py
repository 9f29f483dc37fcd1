"""Upload rate limits: per client address and per user, never fooled by X-Forwarded-For."""

from __future__ import annotations

import httpx
import pytest

from pixelfox_app.models import UploadSession
from tests.app.conftest import AppServer, GetServer

pytestmark = pytest.mark.asyncio(loop_scope="module")

BODY = {"file_size": 1000, "filename": "cat.jpg", "content_type": "image/jpeg"}


async def _session(client: httpx.AsyncClient, **headers: str) -> httpx.Response:
    return await client.post("/api/v1/upload/sessions", json=BODY, headers=headers)


def _from(address: str) -> httpx.AsyncHTTPTransport:
    # Loopback is a /8: binding the client to 127.0.0.2 makes the app's socket
    # peer a genuinely different address, without leaving the machine.
    return httpx.AsyncHTTPTransport(local_address=address)


async def test_address_limit_counts_every_user_behind_one_address(app_server: AppServer):
    await app_server.pool()
    await app_server.knob("upload_rate_limit_per_minute", 3)
    await app_server.knob("upload_user_rate_limit_per_minute", 100)
    users = [await app_server.user(f"user{i}") for i in range(4)]
    answers = []
    for user in users:
        async with await app_server.token_client(user) as client:
            answers.append(await _session(client))
    assert [a.status_code for a in answers] == [201, 201, 201, 429]
    refused = answers[-1]
    assert refused.json()["error"]["code"] == "RATE_LIMITED"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.json()["error"]["details"]["retry_after"] == int(refused.headers["Retry-After"])
    assert await UploadSession.all().count() == 3
    # Another address has its own count.
    async with await app_server.token_client(users[3], transport=_from("127.0.0.2")) as other:
        assert (await _session(other)).status_code == 201


async def test_a_forged_forwarded_for_header_does_not_dodge_the_address_limit(
    app_server: AppServer,
):
    await app_server.pool()
    await app_server.knob("upload_rate_limit_per_minute", 2)
    user = await app_server.user("mallory")
    async with await app_server.token_client(user) as client:
        answers = [
            await _session(
                client, **{"X-Forwarded-For": f"198.51.100.{i}", "X-Real-IP": f"10.0.0.{i}"}
            )
            for i in range(3)
        ]
    assert [a.status_code for a in answers] == [201, 201, 429]
    sessions = await UploadSession.all()
    assert {s.client_ip for s in sessions} == {"127.0.0.1"}


async def test_user_limit_applies_across_addresses_and_spares_other_users(app_server: AppServer):
    await app_server.pool()
    await app_server.knob("upload_rate_limit_per_minute", 100)
    await app_server.knob("upload_user_rate_limit_per_minute", 2)
    ada, bob = await app_server.user("ada"), await app_server.user("bob")
    async with await app_server.token_client(ada) as here:
        first = [await _session(here), await _session(here)]
    async with await app_server.token_client(ada, transport=_from("127.0.0.3")) as elsewhere:
        third = await _session(elsewhere)
    async with await app_server.token_client(bob) as client:
        bobs = await _session(client)
    assert [a.status_code for a in first] == [201, 201]
    assert third.status_code == 429 and int(third.headers["Retry-After"]) >= 1
    assert bobs.status_code == 201


async def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client(app_with: GetServer):
    app = await app_with(trusted_proxies="127.0.0.1")
    await app.pool()
    await app.knob("upload_rate_limit_per_minute", 2)
    user = await app.user("ada")
    async with await app.token_client(user) as proxy:
        # The proxy appends the address it saw; a client-written hop sits left of it.
        one = [
            await _session(proxy, **{"X-Forwarded-For": "6.6.6.6, 203.0.113.5"}) for _ in range(3)
        ]
        other = await _session(proxy, **{"X-Forwarded-For": "203.0.113.6"})
    assert [a.status_code for a in one] == [201, 201, 429]
    assert other.status_code == 201
    assert {s.client_ip for s in await UploadSession.all()} == {"203.0.113.5", "203.0.113.6"}
    # A peer that is not a trusted proxy cannot speak for anyone else.
    async with await app.token_client(user, transport=_from("127.0.0.2")) as direct:
        spoofed = await _session(direct, **{"X-Forwarded-For": "203.0.113.99"})
    assert spoofed.status_code == 201
    assert await UploadSession.filter(client_ip="127.0.0.2").count() == 1
