"""``pixelfox nodes add|list`` as real processes."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest
import redis

from pixelfox_app.db import close_db, init_db
from pixelfox_app.models import StorageNode
from pixelfox_app.nodes import authenticate_node
from pixelfox_protocol.errors import APIError
from pixelfox_protocol.tokens import UploadClaims, mint, parse_public_keys, verify
from tests.cli.support import assert_one_line_error, cli_env, migrated, pixelfox, query
from tests.conftest import REDIS_URL


async def _authenticate(database_url: str, node_id: str, credential: str) -> StorageNode | str:
    """The node the app's own check accepts for this header, or the refusal's code."""
    await init_db(database_url)
    try:
        return await authenticate_node(f"Node {node_id}:{credential}")
    except APIError as refused:
        return refused.code
    finally:
        await close_db()


def _env_lines(stdout: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in stdout.strip().splitlines())


def test_nodes_add_prints_an_env_with_which_the_node_proves_itself_and_verifies_tokens(tmp_path):
    env = migrated(
        cli_env(
            tmp_path,
            PIXELFOX_INTERNAL_URL="http://10.0.0.1:8080/",
            PIXELFOX_REDIS_URL="redis://10.0.0.1:6379/2",
            PIXELFOX_REDIS_PREFIX="pf-prod",
        )
    )

    result = pixelfox(env, "nodes", "add", "s01", "--dns-name", "s01.example.net")

    assert result.returncode == 0, result.stderr
    node_env = _env_lines(result.stdout)
    assert list(node_env) == [
        "PIXELFOX_NODE_ID",
        "PIXELFOX_NODE_CREDENTIAL",
        "PIXELFOX_APP_URL",
        "PIXELFOX_TOKEN_PUBLIC_KEYS",
        "PIXELFOX_REDIS_URL",
        "PIXELFOX_REDIS_PREFIX",
        "PIXELFOX_CORS_ORIGIN",
    ]
    assert node_env["PIXELFOX_NODE_ID"] == "s01"
    assert node_env["PIXELFOX_APP_URL"] == "http://10.0.0.1:8080"
    # The node's own Redis user, with its credential as password: never the app's.
    credential = node_env["PIXELFOX_NODE_CREDENTIAL"]
    assert (
        node_env["PIXELFOX_REDIS_URL"] == f"redis://pf-prod-node-s01:{credential}@10.0.0.1:6379/2"
    )
    assert node_env["PIXELFOX_REDIS_PREFIX"] == "pf-prod"
    # Browsers upload from the app's origin straight to the node.
    assert node_env["PIXELFOX_CORS_ORIGIN"] == "https://img.example.net"
    # That Redis is not reachable from here: the user is set by the control worker later.
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "could not set the Redis users" in warnings[0]
    # The printed public key verifies a token the app signs for this node.
    claims = UploadClaims(
        node_id="s01",
        user_id=1,
        pool_id=1,
        session_id="sid",
        jti="jti",
        max_size=10,
        expires_at=int(time.time()) + 60,
        image_uuid="00000000-0000-0000-0000-000000000001",
    )
    token = mint(claims, env["PIXELFOX_TOKEN_SIGNING_KEY"])
    keys = parse_public_keys(node_env["PIXELFOX_TOKEN_PUBLIC_KEYS"])
    assert verify(token, "s01", keys).session_id == "sid"
    # The printed credential authenticates the node; only its hash is stored.
    node = asyncio.run(_authenticate(env["PIXELFOX_DATABASE_URL"], "s01", credential))
    assert isinstance(node, StorageNode) and node.dns_name == "s01.example.net"
    assert credential not in str(query(env, "SELECT * FROM storage_nodes"))


def test_nodes_add_publishes_the_previous_public_keys_during_a_rotation(tmp_path):
    env = migrated(cli_env(tmp_path, PIXELFOX_TOKEN_PREVIOUS_PUBLIC_KEYS="oldkid:" + "A" * 43))

    result = pixelfox(env, "nodes", "add", "s01")

    assert result.returncode == 0, result.stderr
    keys = _env_lines(result.stdout)["PIXELFOX_TOKEN_PUBLIC_KEYS"].split(",")
    assert len(keys) == 2 and keys[1] == "oldkid:" + "A" * 43


def test_nodes_add_warns_when_a_remote_node_could_not_reach_the_printed_addresses(tmp_path):
    env = migrated(cli_env(tmp_path, PIXELFOX_REDIS_URL="redis://127.0.0.1:6379/0"))

    result = pixelfox(env, "nodes", "add", "s01")

    assert result.returncode == 0, result.stderr
    assert "PIXELFOX_REDIS_URL points at 127.0.0.1" in result.stderr
    node_env = _env_lines(result.stdout)
    user = f"{env['PIXELFOX_REDIS_PREFIX']}-node-s01:{node_env['PIXELFOX_NODE_CREDENTIAL']}"
    assert node_env["PIXELFOX_REDIS_URL"] == f"redis://{user}@127.0.0.1:6379/0"


def test_nodes_add_of_an_existing_node_is_refused_unless_rotating(tmp_path):
    env = migrated(cli_env(tmp_path))
    first = _env_lines(pixelfox(env, "nodes", "add", "s01").stdout)["PIXELFOX_NODE_CREDENTIAL"]

    assert_one_line_error(pixelfox(env, "nodes", "add", "s01"), "already exists", "--rotate")
    rotated = pixelfox(env, "nodes", "add", "s01", "--rotate")

    second = _env_lines(rotated.stdout)["PIXELFOX_NODE_CREDENTIAL"]
    url = env["PIXELFOX_DATABASE_URL"]
    assert isinstance(asyncio.run(_authenticate(url, "s01", second)), StorageNode)
    assert asyncio.run(_authenticate(url, "s01", first)) == "NODE_UNAUTHORIZED"


def test_nodes_add_without_a_signing_key_is_one_line_and_registers_nothing(tmp_path):
    env = migrated(cli_env(tmp_path, PIXELFOX_TOKEN_SIGNING_KEY=""))

    result = pixelfox(env, "nodes", "add", "s01")

    assert_one_line_error(result, "PIXELFOX_TOKEN_SIGNING_KEY is not set")
    assert query(env, "SELECT COUNT(*) FROM storage_nodes") == [(0,)]


def test_nodes_add_with_a_bad_node_id_is_one_line(tmp_path):
    env = migrated(cli_env(tmp_path))

    assert_one_line_error(pixelfox(env, "nodes", "add", "S 01"), "a node id is")


def test_nodes_list_shows_each_node_with_its_pool_count(tmp_path):
    env = migrated(cli_env(tmp_path))
    pixelfox(env, "nodes", "add", "s01", "--dns-name", "s01.example.net")
    pixelfox(env, "pools", "add", "hot-1", "--base-path", "/srv/p1", "--node", "s01")

    result = pixelfox(env, "nodes", "list")

    assert result.returncode == 0, result.stderr
    header, row = result.stdout.strip().splitlines()
    assert header.split() == [
        "NODE", "DNS", "NAME", "ZONE", "STATE", "ACTIVE", "VERSION", "LAST", "SEEN", "POOLS"
    ]  # fmt: skip
    assert row.split() == ["s01", "s01.example.net", "-", "active", "yes", "-", "never", "1"]


def test_nodes_list_says_the_time_zone_of_last_seen(tmp_path):
    env = migrated(cli_env(tmp_path))
    pixelfox(env, "nodes", "add", "s01")
    with sqlite3.connect(env["PIXELFOX_DATABASE_URL"].removeprefix("sqlite://")) as db:
        db.execute("UPDATE storage_nodes SET last_seen_at = '2026-12-07 10:00:00+00:00'")

    row = pixelfox(env, "nodes", "list").stdout.strip().splitlines()[1]

    assert "2026-12-07 10:00:00 UTC" in row


def test_a_node_goes_from_active_through_draining_and_retired_to_removed(tmp_path):
    env = migrated(cli_env(tmp_path))
    pixelfox(env, "nodes", "add", "s01")
    pixelfox(env, "pools", "add", "s01-hot", "--base-path", "/srv/p1", "--node", "s01")

    steps = [
        pixelfox(env, "nodes", "drain", "s01").stdout.strip(),
        pixelfox(env, "nodes", "drain", "s01").stdout.strip(),
        pixelfox(env, "nodes", "retire", "s01").stdout.strip(),
        pixelfox(env, "nodes", "state", "s01").stdout.strip(),
    ]
    assert steps == [
        "updated node 's01': draining",
        "unchanged node 's01': draining",
        "updated node 's01': retired",
        "retired",
    ]
    assert query(env, "SELECT is_active, is_upload_target FROM storage_pools") == [(0, 0)]
    removed = pixelfox(env, "nodes", "remove", "s01")
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.strip() == "removed node 's01' and 1 pool(s)"
    assert query(env, "SELECT COUNT(*) FROM storage_nodes") == [(0,)]
    assert query(env, "SELECT COUNT(*) FROM storage_pools") == [(0,)]
    assert pixelfox(env, "nodes", "state", "s01").stdout.strip() == "unregistered"


def test_removing_a_node_that_is_not_retired_is_refused_in_one_line(tmp_path):
    env = migrated(cli_env(tmp_path))
    pixelfox(env, "nodes", "add", "s01")

    assert_one_line_error(pixelfox(env, "nodes", "remove", "s01"), "retire it first")
    assert query(env, "SELECT state FROM storage_nodes") == [("active",)]


def test_an_activated_node_is_back_in_service_with_its_pools(tmp_path):
    env = migrated(cli_env(tmp_path))
    pixelfox(env, "nodes", "add", "s01")
    pixelfox(env, "pools", "add", "s01-hot", "--base-path", "/srv/p1", "--node", "s01")
    pixelfox(env, "nodes", "retire", "s01")

    assert pixelfox(env, "nodes", "activate", "s01").stdout.strip() == "updated node 's01': active"
    assert query(env, "SELECT state, is_active FROM storage_nodes") == [("active", 1)]
    assert query(env, "SELECT is_active FROM storage_pools") == [(1,)]


def test_nodes_add_sets_the_nodes_redis_user_and_a_rotation_changes_its_password(tmp_path):
    env = migrated(cli_env(tmp_path, PIXELFOX_REDIS_URL=REDIS_URL))

    first = _env_lines(pixelfox(env, "nodes", "add", "s01").stdout)["PIXELFOX_REDIS_URL"]
    with redis.Redis.from_url(first) as node:
        assert node.ping()
        with pytest.raises(redis.exceptions.NoPermissionError):
            node.get(f"{env['PIXELFOX_REDIS_PREFIX']}:control")
    rotated = pixelfox(env, "nodes", "add", "s01", "--rotate")
    second = _env_lines(rotated.stdout)["PIXELFOX_REDIS_URL"]

    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis.from_url(first).ping()
    with redis.Redis.from_url(second) as node:
        assert node.ping()
    shown = pixelfox(env, "redis-users", "show")
    assert shown.returncode == 0, shown.stderr
    assert f"user {env['PIXELFOX_REDIS_PREFIX']}-node-s01 on #" in shown.stdout
