"""``pixelfox pools add|list|edit`` as real processes, including their refusals."""

from __future__ import annotations

from tests.cli.support import assert_one_line_error, cli_env, migrated, pixelfox, query
from tests.support import free_port

POOL_COLUMNS = (
    "name, type, tier, priority, base_path, public_base_url, cdn_base_url, upload_api_url, "
    "node_id, region, weight, capacity_bytes, reserve_bytes, is_active, is_upload_target, "
    "backup_bucket, backup_prefix"
)


def _pool(env, name):
    rows = query(env, f"SELECT {POOL_COLUMNS} FROM storage_pools WHERE name = ?", name)
    return dict(zip([c.strip() for c in POOL_COLUMNS.split(",")], rows[0], strict=True))


def test_pools_add_takes_every_field_as_an_option(tmp_path):
    env = migrated(cli_env(tmp_path))
    pixelfox(env, "nodes", "add", "s01")

    result = pixelfox(
        env, "pools", "add", "s01-warm",
        "--type", "nfs", "--tier", "warm", "--priority", "5",
        "--base-path", "/srv/pixelfox/warm/",
        "--public-base-url", "https://s01.example.net/",
        "--cdn-base-url", "https://cdn.example.net",
        "--upload-api-url", "https://s01.example.net/api/internal/upload",
        "--node", "s01", "--region", "eu-central", "--weight", "3",
        "--capacity", "1.5T", "--reserve", "20GiB",
        "--inactive", "--no-upload-target",
        "--backup-bucket", "pixelfox-cold", "--backup-prefix", "s01/",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("pool 's01-warm' created")
    assert _pool(env, "s01-warm") == {
        "name": "s01-warm",
        "type": "nfs",
        "tier": "warm",
        "priority": 5,
        "base_path": "/srv/pixelfox/warm",
        "public_base_url": "https://s01.example.net",
        "cdn_base_url": "https://cdn.example.net",
        "upload_api_url": "https://s01.example.net/api/internal/upload",
        "node_id": "s01",
        "region": "eu-central",
        "weight": 3,
        "capacity_bytes": int(1.5 * 2**40),
        "reserve_bytes": 20 * 2**30,
        "is_active": 0,
        "is_upload_target": 0,
        "backup_bucket": "pixelfox-cold",
        "backup_prefix": "s01/",
    }


def test_pools_list_shows_the_runtime_defaults_of_a_pool_with_empty_urls(tmp_path):
    env = migrated(cli_env(tmp_path))
    pixelfox(env, "pools", "add", "local", "--base-path", "/srv/local")

    result = pixelfox(env, "pools", "list", "--urls")

    assert result.returncode == 0, result.stderr
    header, row = result.stdout.strip().splitlines()
    assert header.split()[:3] == ["ID", "NAME", "NODE"]
    cells = row.split()
    assert cells[1:3] == ["local", "local"]
    assert cells[-2:] == [
        "https://img.example.net",
        "https://img.example.net/api/internal/upload",
    ]


def test_pools_edit_changes_only_the_given_fields(tmp_path):
    env = migrated(cli_env(tmp_path))
    pixelfox(env, "pools", "add", "p1", "--base-path", "/srv/p1", "--weight", "7")

    result = pixelfox(env, "pools", "edit", "p1", "--name", "p-one", "--no-upload-target")

    assert result.returncode == 0, result.stderr
    pool = _pool(env, "p-one")
    assert (pool["is_upload_target"], pool["is_active"], pool["weight"]) == (0, 1, 7)
    assert pool["base_path"] == "/srv/p1"


def test_a_duplicate_pool_name_is_one_line_and_changes_nothing(tmp_path):
    env = migrated(cli_env(tmp_path))
    pixelfox(env, "pools", "add", "p1", "--base-path", "/srv/p1")

    result = pixelfox(env, "pools", "add", "p1", "--base-path", "/srv/other")

    assert_one_line_error(result, "pool 'p1' already exists")
    assert query(env, "SELECT base_path FROM storage_pools") == [("/srv/p1",)]


def test_bad_pool_input_is_refused_with_one_line_each(tmp_path):
    env = migrated(cli_env(tmp_path))
    cases = [
        (["--public-base-url", "ftp://x.example.net"], "public_base_url must be an http(s) URL"),
        (["--node", "s09"], "unknown node 's09'"),
        (["--weight", "-1"], "weight must not be negative"),
    ]
    for extra, message in cases:
        result = pixelfox(env, "pools", "add", "p1", "--base-path", "/srv/p1", *extra)
        assert_one_line_error(result, message)
    relative = pixelfox(env, "pools", "add", "p1", "--base-path", "srv/p1")
    assert_one_line_error(relative, "base_path must be an absolute path")
    assert query(env, "SELECT COUNT(*) FROM storage_pools") == [(0,)]


def test_editing_an_unknown_pool_is_one_line(tmp_path):
    env = migrated(cli_env(tmp_path))

    assert_one_line_error(pixelfox(env, "pools", "edit", "nope", "--weight", "1"), "no pool")


def test_pools_list_on_an_unreachable_database_is_one_line(tmp_path):
    url = f"postgres://postgres@127.0.0.1:{free_port()}/pixelfox"

    result = pixelfox(cli_env(tmp_path, PIXELFOX_DATABASE_URL=url), "pools", "list")

    assert_one_line_error(result, "cannot reach the database at postgres://postgres@127.0.0.1:")


def test_pools_list_health_is_what_the_admin_shows_from_the_heartbeats(tmp_path):
    import json
    import time

    import redis

    from pixelfox_protocol.keys import HEARTBEAT_TTL, RedisKeys
    from tests.conftest import REDIS_URL

    env = migrated(cli_env(tmp_path, PIXELFOX_REDIS_URL=REDIS_URL))
    for node in ("s01", "s02"):
        pixelfox(env, "nodes", "add", node)
        pixelfox(env, "pools", "add", f"{node}-hot", "--base-path", f"/srv/{node}", "--node", node)
    beat = {
        "node_id": "s01",
        "version": "1",
        "received_at": time.time(),
        "pools": [
            {
                "pool_id": 1,
                "free_bytes": 1 << 40,
                "used_bytes": 0,
                "capacity_bytes": 1 << 40,
                "used_pct": 0.0,
            }
        ],
    }
    with redis.Redis.from_url(REDIS_URL) as client:
        key = RedisKeys(env["PIXELFOX_REDIS_PREFIX"]).node_heartbeat("s01")
        client.set(key, json.dumps(beat), ex=HEARTBEAT_TTL)

    result = pixelfox(env, "pools", "list")

    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.strip().splitlines()
    column = header.split().index("HEALTH")
    assert {row.split()[1]: row.split()[column] for row in rows} == {
        "s01-hot": "ok",
        "s02-hot": "error",
    }
