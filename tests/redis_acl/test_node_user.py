"""A node's Redis user on a real Redis: what it may do, and what it is refused.

Each test works under a fresh prefix, so the users it makes (``<prefix>-node-*``)
are its own; the ``redis_prefix`` fixture deletes them with its keys.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import AuthenticationError, NoPermissionError, ResponseError

from pixelfox_app import redis_users
from pixelfox_app.nodes import credential_hash, register_node
from pixelfox_protocol import grants, tokens
from pixelfox_protocol.errors import APIError
from pixelfox_protocol.keys import RedisKeys
from pixelfox_storage.moves.ledger import GrantLedger
from pixelfox_storage.node_jobs.imagelock import ImageBusy, image_lock
from pixelfox_storage.scrub.run import load_state, save_state
from pixelfox_storage.upload.token_check import JtiHold
from tests.conftest import REDIS_URL


async def _as_node(admin: Redis, prefix: str, node_id: str) -> tuple[Redis, str]:
    credential = secrets.token_urlsafe(32)
    user = redis_users.node_user(prefix, node_id, credential_hash(credential))
    await redis_users.apply(admin, prefix, [user])
    url = redis_users.node_redis_url(REDIS_URL, prefix, node_id, credential)
    return Redis.from_url(url), credential


@pytest.fixture
async def admin() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@pytest.fixture
async def s01(admin: Redis, redis_prefix: str) -> AsyncIterator[Redis]:
    client, _ = await _as_node(admin, redis_prefix, "s01")
    yield client
    await client.aclose()


async def _refused(call: Callable[[], Awaitable[Any]]) -> str:
    with pytest.raises(NoPermissionError) as refused:
        await call()
    return str(refused.value)


async def test_a_node_user_reads_and_writes_its_own_keys_and_reads_move_state(
    admin: Redis, s01: Redis, redis_prefix: str
):
    keys = RedisKeys(redis_prefix)
    await admin.set(keys.move_state(7), "running")

    assert await s01.set(keys.node_token_jti("s01", "j1"), "busy:x", nx=True, ex=60)
    assert await s01.zadd(keys.node_background_queue("s01"), {"job": 1}) == 1
    assert await s01.set(f"arq:job:{keys.process_job('s01', 'u')}", b"{}", px=60_000)
    assert await s01.get(keys.move_state(7)) == b"running"
    assert await s01.ping()


@pytest.mark.parametrize(
    "target",
    [
        "other node's fresh queue",
        "other node's background queue",
        "other node's used token id",
        "other node's image lock",
        "other node's job record",
        "other node's scrub state",
        "control queue",
        "heartbeat",
        "node health",
        "pool reachability",
        "placed bytes",
        "rate limits",
        "move state",
        "move outcomes",
    ],
)
async def test_a_node_user_is_refused_every_key_that_is_not_its_own(
    s01: Redis, redis_prefix: str, target: str
):
    keys = RedisKeys(redis_prefix)
    key = {
        "other node's fresh queue": keys.node_queue("s02"),
        "other node's background queue": keys.node_background_queue("s02"),
        "other node's used token id": keys.node_token_jti("s02", "j1"),
        "other node's image lock": keys.image_lock("s02", "u"),
        "other node's job record": f"arq:job:{keys.process_job('s02', 'u')}",
        "other node's scrub state": keys.node_scrub("s02", 1),
        "control queue": keys.control_queue,
        "heartbeat": keys.node_heartbeat("s01"),
        "node health": keys.node_health("s01"),
        "pool reachability": keys.pool_reachable(1),
        "placed bytes": keys.pool_placed_bytes(1),
        "rate limits": f"{keys.rate_limit_prefix}:LIMITER/login-ip/1.2.3.4",
        "move state": keys.move_state(7),
        "move outcomes": keys.move_outcomes(7),
    }[target]

    message = await _refused(lambda: s01.set(key, "forged"))
    assert "no permissions to access one of the keys" in message
    await _refused(lambda: s01.delete(key))
    if target != "move state":  # the one foreign key a node may read
        await _refused(lambda: s01.get(key))


@pytest.mark.parametrize(
    "command",
    [
        ("EVAL", "return 1", "0"),
        ("EVALSHA", "0" * 40, "0"),
        ("SCRIPT", "LOAD", "return 1"),
        ("FUNCTION", "LIST"),
        ("KEYS", "*"),
        ("SCAN", "0"),
        ("FLUSHALL",),
        ("FLUSHDB",),
        ("CONFIG", "GET", "requirepass"),
        ("ACL", "LIST"),
        ("ACL", "SETUSER", "evil", "on", "nopass", "+@all", "~*"),
        ("DEBUG", "SLEEP", "0"),
        ("MODULE", "LIST"),
        ("MONITOR",),
        ("SHUTDOWN",),
        ("REPLICAOF", "127.0.0.1", "1"),
        ("MIGRATE", "127.0.0.1", "1", "k", "0", "1"),
        ("CLIENT", "LIST"),
        ("PUBLISH", "channel", "x"),
        ("SUBSCRIBE", "channel"),
    ],
)
async def test_a_node_user_may_not_run_dangerous_commands_or_scripts(
    admin: Redis, s01: Redis, redis_prefix: str, command: tuple[str, ...]
):
    # Redis refuses DEBUG to everyone before it looks at the ACL: ask the ACL itself too.
    with pytest.raises(ResponseError):
        await s01.execute_command(*command)
    verdict = await admin.execute_command("ACL", "DRYRUN", f"{redis_prefix}-node-s01", *command)
    assert "no permissions to run" in verdict.decode()


async def test_the_node_code_takes_and_releases_token_ids_and_image_locks_as_its_user(
    s01: Redis, redis_prefix: str
):
    keys = RedisKeys(redis_prefix)
    claims = tokens.UploadClaims(
        node_id="s01",
        user_id=1,
        pool_id=1,
        session_id="sid",
        jti=secrets.token_hex(8),
        max_size=10,
        expires_at=int(time.time()) + 60,
        image_uuid="00000000-0000-0000-0000-000000000001",
    )
    hold = JtiHold(s01, keys, claims)
    await hold.take()
    with pytest.raises(APIError) as used:
        await JtiHold(s01, keys, claims).take()
    assert used.value.code == "TOKEN_USED"
    await hold.release()  # no script: WATCH/MULTI
    await hold.take()
    await hold.spend(claims.image_uuid)
    spent = await s01.get(keys.node_token_jti("s01", claims.jti))
    assert spent == f"used:{claims.image_uuid}".encode()

    async with image_lock(s01, keys, "s01", "u1", "job-a"):
        with pytest.raises(ImageBusy):
            async with image_lock(s01, keys, "s01", "u1", "job-b"):
                pass
    assert await s01.get(keys.image_lock("s01", "u1")) is None


async def test_a_replication_grants_ledger_is_claimed_and_read_as_the_nodes_user(
    s01: Redis, redis_prefix: str
):
    # The target reads the ledger back before it reports a replica verified: a
    # command missing from the node's list would leave every copy pending.
    files = (grants.GrantedFile("original/a.jpg", 5, "a" * 64),
             grants.GrantedFile("variants/a_w16.webp", 3, "b" * 64))  # fmt: skip
    grant = grants.ReplicationGrant(
        "s01", 1, "u1", 0, files, expires=int(time.time()) + 60, copy_id=7
    )
    ledger = GrantLedger(s01, RedisKeys(redis_prefix), "s01", grant)

    for granted in files:
        await ledger.claim(granted)

    assert await ledger.claimed() == {"original/a.jpg", "variants/a_w16.webp"}
    with pytest.raises(APIError) as again:
        await ledger.claim(files[0])
    assert again.value.code == "REPLICATION_USED"


async def test_the_scrub_keeps_its_state_under_the_nodes_own_key_as_its_user(
    s01: Redis, redis_prefix: str
):
    keys = RedisKeys(redis_prefix)
    state = {"cursor": 41, "pass_started": 1.5, "report": {"faults": {"orphan": 1}}}

    await save_state(s01, keys, "s01", 3, state)

    assert await load_state(s01, keys, "s01", 3) == state
    assert await load_state(s01, keys, "s01", 4) == {}


async def test_a_release_leaves_a_hold_that_another_request_took_meanwhile(
    s01: Redis, redis_prefix: str
):
    keys = RedisKeys(redis_prefix)
    claims = tokens.UploadClaims("s01", 1, 1, "sid", "jti-x", 10, int(time.time()) + 60, "u")
    hold = JtiHold(s01, keys, claims)
    await hold.take()
    await s01.set(hold.key, "busy:someone-else", ex=60)  # ours expired, another took it

    await hold.release()

    assert await s01.get(hold.key) == b"busy:someone-else"


async def test_sync_sets_every_registered_node_removes_stale_ones_and_follows_rotation(
    db: str, admin: Redis, redis_prefix: str
):
    first = await register_node("s01")
    await register_node("s02")
    stale = redis_users.node_user(redis_prefix, "gone", hashlib.sha256(b"x").hexdigest())
    await redis_users.apply(admin, redis_prefix, [stale])

    result = await redis_users.sync(admin, redis_prefix)
    again = await redis_users.sync(admin, redis_prefix)

    assert result.set == [f"{redis_prefix}-node-s01", f"{redis_prefix}-node-s02"]
    assert result.removed == [f"{redis_prefix}-node-gone"]
    assert again.set == result.set and again.removed == []
    url = redis_users.node_redis_url(REDIS_URL, redis_prefix, "s01", first)
    async with Redis.from_url(url) as node:
        assert await node.ping()
    before = await admin.execute_command("ACL", "GETUSER", f"{redis_prefix}-node-s01")

    rotated = await register_node("s01")  # a new credential: the old password stops working
    await redis_users.sync(admin, redis_prefix)

    assert await admin.execute_command("ACL", "GETUSER", f"{redis_prefix}-node-s01") != before
    with pytest.raises((AuthenticationError, ResponseError)):
        async with Redis.from_url(url) as node:
            await node.ping()
    url = redis_users.node_redis_url(REDIS_URL, redis_prefix, "s01", rotated)
    async with Redis.from_url(url) as node:
        assert await node.ping()


async def test_sync_leaves_users_of_other_installations_and_the_default_user_alone(
    db: str, admin: Redis, redis_prefix: str
):
    other = f"{redis_prefix}x"  # a prefix that starts like ours
    neighbour = redis_users.node_user(other, "s01", hashlib.sha256(b"x").hexdigest())
    await redis_users.apply(admin, other, [neighbour])
    try:
        await register_node("s01")
        await redis_users.sync(admin, redis_prefix)
        users = {u.decode() for u in await admin.execute_command("ACL", "USERS")}
        assert {"default", f"{other}-node-s01", f"{redis_prefix}-node-s01"} <= users
    finally:
        await admin.execute_command("ACL", "DELUSER", f"{other}-node-s01")
