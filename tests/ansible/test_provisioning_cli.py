"""`nodes ensure`, `pools ensure` and `nodes ready`: what the roles run on the app host."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pixelfox_app.db import close_db, init_db
from pixelfox_app.models import StorageNode, StoragePool
from pixelfox_app.nodes import credential_hash
from pixelfox_cli.main import cli

pytestmark = pytest.mark.ansible

CREDENTIAL = "c" * 43
URLS = [
    "--public-base-url=http://s01.example.net",
    "--upload-api-url=http://s01.example.net/api/internal/upload",
]


def run(database_url: str, *args: str, credential: str = CREDENTIAL, **env: str) -> Result:
    environment = {
        "PIXELFOX_DATABASE_URL": database_url,
        "PIXELFOX_TEST_NODE_CREDENTIAL": credential,
        **env,
    }
    return CliRunner().invoke(cli, list(args), env=environment)


def ensure_node(database_url: str, credential: str = CREDENTIAL) -> Result:
    return run(
        database_url,
        "nodes", "ensure", "s01", "--dns-name=s01.example.net",
        "--credential-env=PIXELFOX_TEST_NODE_CREDENTIAL",
        credential=credential,
    )  # fmt: skip


def fetch_node(database_url: str) -> StorageNode:
    async def work() -> StorageNode:
        await init_db(database_url)
        try:
            return await StorageNode.get(node_id="s01")
        finally:
            await close_db()

    return asyncio.run(work())


def fetch_pool(database_url: str, name: str) -> StoragePool:
    async def work() -> StoragePool:
        await init_db(database_url)
        try:
            return await StoragePool.get(name=name)
        finally:
            await close_db()

    return asyncio.run(work())


def test_nodes_ensure_creates_then_reports_unchanged(database_url: str) -> None:
    first = ensure_node(database_url)
    second = ensure_node(database_url)

    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("created node 's01'")
    assert second.stdout.startswith("unchanged node 's01'")
    # The node's Redis user is set too, said on stderr: stdout stays the one line Ansible reads.
    assert "# redis users set: pixelfox-node-s01" in first.stderr
    node = fetch_node(database_url)
    assert node.credential_hash == credential_hash(CREDENTIAL)
    assert node.dns_name == "s01.example.net"


def test_nodes_ensure_with_a_new_credential_replaces_the_old_one(database_url: str) -> None:
    ensure_node(database_url)

    result = ensure_node(database_url, credential="d" * 43)

    assert result.stdout.startswith("updated node 's01': credential")
    assert fetch_node(database_url).credential_hash == credential_hash("d" * 43)


def test_nodes_ensure_sets_the_zone_keeps_it_when_omitted_and_refuses_a_bad_one(
    database_url: str,
) -> None:
    ensure_node(database_url)
    args = [
        "nodes", "ensure", "s01", "--credential-env=PIXELFOX_TEST_NODE_CREDENTIAL",
    ]  # fmt: skip

    zoned = run(database_url, *args, "--zone=fsn1")
    again = run(database_url, *args, "--zone=fsn1")
    omitted = run(database_url, *args)
    bad = run(database_url, *args, "--zone=FSN 1")

    assert zoned.stdout.startswith("updated node 's01': zone"), zoned.output
    assert again.stdout.startswith("unchanged node 's01'")
    assert omitted.stdout.startswith("unchanged node 's01'")
    assert bad.exit_code == 1 and "a zone is" in bad.output
    assert fetch_node(database_url).zone == "fsn1"


def test_pools_ensure_sets_a_replication_factor_and_0_means_the_default(
    database_url: str,
) -> None:
    ensure_node(database_url)
    run(database_url, "pools", "ensure", "s01-hot", "--node=s01", "--base-path=/srv/p", *URLS)

    three = run(database_url, "pools", "ensure", "s01-hot", "--replication-factor=3")
    assert three.output.startswith("updated pool 's01-hot'"), three.output
    assert fetch_pool(database_url, "s01-hot").replication_factor == 3
    default = run(database_url, "pools", "ensure", "s01-hot", "--replication-factor=0")
    assert default.output.startswith("updated pool 's01-hot'"), default.output
    assert fetch_pool(database_url, "s01-hot").replication_factor is None
    four = run(database_url, "pools", "ensure", "s01-hot", "--replication-factor=4")
    assert four.exit_code == 2


def test_nodes_ensure_refuses_a_missing_credential(database_url: str) -> None:
    result = ensure_node(database_url, credential="")

    assert result.exit_code == 1
    assert "PIXELFOX_TEST_NODE_CREDENTIAL" in result.output


def test_pools_ensure_creates_a_pool_that_takes_no_uploads_yet(database_url: str) -> None:
    ensure_node(database_url)

    created = run(database_url, "pools", "ensure", "s01-hot", "--node=s01",
                  "--base-path=/srv/pools/s01-hot", *URLS)  # fmt: skip
    again = run(database_url, "pools", "ensure", "s01-hot", "--node=s01",
                "--base-path=/srv/pools/s01-hot", *URLS)  # fmt: skip

    assert created.output.startswith("created pool 's01-hot'"), created.output
    assert again.output.startswith("unchanged pool 's01-hot'"), again.output
    pool = fetch_pool(database_url, "s01-hot")
    assert pool.is_upload_target is False
    assert pool.is_active is True
    assert pool.node_id == "s01"


def test_pools_ensure_changes_only_what_differs(database_url: str) -> None:
    ensure_node(database_url)
    run(database_url, "pools", "ensure", "s01-hot", "--node=s01", "--base-path=/srv/p", *URLS)

    enabled = run(database_url, "pools", "ensure", "s01-hot", "--upload-target", "--weight=7")
    again = run(database_url, "pools", "ensure", "s01-hot", "--upload-target", "--weight=7")

    assert enabled.output.startswith("updated pool 's01-hot'"), enabled.output
    assert "is_upload_target" in enabled.output and "weight" in enabled.output
    assert again.output.startswith("unchanged pool 's01-hot'"), again.output
    pool = fetch_pool(database_url, "s01-hot")
    assert pool.is_upload_target is True
    assert pool.weight == 7
    assert pool.upload_api_url == "http://s01.example.net/api/internal/upload"


def test_pools_ensure_never_moves_an_existing_pool(database_url: str) -> None:
    ensure_node(database_url)
    run(database_url, "pools", "ensure", "s01-hot", "--node=s01", "--base-path=/srv/p", *URLS)

    result = run(database_url, "pools", "ensure", "s01-hot", "--base-path=/srv/elsewhere")

    assert result.exit_code == 1
    assert "refusing to move" in result.output
    assert fetch_pool(database_url, "s01-hot").base_path == "/srv/p"


def test_nodes_ready_fails_for_a_node_without_heartbeat_or_answering_pool(
    sqlite_url: str, redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    from pixelfox_app.dbschema import migrate

    asyncio.run(migrate(sqlite_url))
    ensure_node(sqlite_url)
    # Port 9 (discard) on loopback: nothing answers, as for a node still starting.
    run(sqlite_url, "pools", "ensure", "s01-hot", "--node=s01", "--base-path=/srv/p",
        "--upload-api-url=http://127.0.0.1:9/api/internal/upload")  # fmt: skip

    result = run(
        sqlite_url, "nodes", "ready", "s01", "--timeout=1",
        PIXELFOX_REDIS_URL=redis_url, PIXELFOX_REDIS_PREFIX=redis_prefix,
    )  # fmt: skip

    assert result.exit_code == 1, result.output
    assert "fail  heartbeat of s01: none" in result.output
    assert "fail  pool s01-hot: HEAD http://127.0.0.1:9/api/internal/upload" in result.output


def test_nodes_ready_passes_with_a_fresh_heartbeat_and_an_answering_upload_api(
    sqlite_url: str, redis_url: str, redis_prefix: str
) -> None:
    import json
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import redis

    from pixelfox_protocol.keys import RedisKeys

    class UploadAPI(BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:  # the name http.server calls
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    from pixelfox_app.dbschema import migrate

    server = ThreadingHTTPServer(("127.0.0.1", 0), UploadAPI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        asyncio.run(migrate(sqlite_url))
        ensure_node(sqlite_url)
        url = f"http://127.0.0.1:{server.server_port}/api/internal/upload"
        run(sqlite_url, "pools", "ensure", "s01-hot", "--node=s01", "--base-path=/srv/p",
            f"--upload-api-url={url}")  # fmt: skip
        client = redis.Redis.from_url(redis_url)
        beat = {"node_id": "s01", "version": "1", "pools": [], "received_at": time.time()}
        client.set(RedisKeys(redis_prefix).node_heartbeat("s01"), json.dumps(beat), ex=30)
        client.close()

        result = run(
            sqlite_url, "nodes", "ready", "s01",
            PIXELFOX_REDIS_URL=redis_url, PIXELFOX_REDIS_PREFIX=redis_prefix,
        )  # fmt: skip
    finally:
        server.shutdown()

    assert result.exit_code == 0, result.output
    assert "ok    heartbeat of s01: fresh" in result.output
    assert f"ok    pool s01-hot: HEAD {url} → 204" in result.output
