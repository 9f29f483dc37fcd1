"""``pixelfox doctor``'s lines for the figures the alerts watch: backup, queues, quarantine,
copies, scrub — on a real database and Redis arranged as an operator would find them."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from redis import Redis

from pixelfox_app.backups import record_backup
from pixelfox_app.db import close_db, init_db
from pixelfox_app.dbschema import migrate
from pixelfox_app.models import ImageState, StoragePool, User
from pixelfox_app.nodes import register_node
from pixelfox_protocol.keys import RedisKeys
from tests.image_rows import stored_image
from tests.observability.test_doctor import doctor

HOUR = 3600.0


def _lines(stdout: str) -> dict[str, str]:
    """Check name → its whole line, for the checks of this module."""
    names = ("backup", "job queues", "outbox quarantine", "image copies", "scrub")
    return {name: line for line in stdout.splitlines() for name in names if f"  {name}  " in line}


@pytest.fixture
def installation(tmp_path: Path, redis_url: str, redis_prefix: str) -> dict[str, str]:
    """A migrated database with nodes s08 and s09 and a pool asking for two copies."""
    url = f"sqlite://{tmp_path / 'doctor.sqlite3'}"

    async def arrange() -> None:
        await migrate(url)
        await init_db(url)
        try:
            for node in ("s08", "s09"):
                await register_node(node)
            await StoragePool.create(
                name="hot-1",
                node_id="s08",
                base_path="/srv/pixelfox/hot-1",
                upload_api_url="http://s08.pixelfox.test/api/internal/upload",
                replication_factor=2,
            )
        finally:
            await close_db()

    asyncio.run(arrange())
    return {
        "PIXELFOX_DATABASE_URL": url,
        "PIXELFOX_REDIS_URL": redis_url,
        "PIXELFOX_REDIS_PREFIX": redis_prefix,
    }


def test_a_quiet_installation_without_a_backup_is_told_to_make_one(
    installation: dict[str, str],
) -> None:
    lines = _lines(doctor(installation).stdout)

    assert lines["backup"].startswith("warn") and "pixelfox db backup" in lines["backup"]
    assert lines["job queues"].startswith("ok") and "0 job(s) in 5 queue(s)" in lines["job queues"]
    quarantine = lines["outbox quarantine"]
    assert quarantine.startswith("ok") and "not known for s08, s09" in quarantine
    assert lines["image copies"].startswith("ok")
    assert lines["scrub"].startswith("ok") and "no scheduled scrub pass" in lines["scrub"]


def test_each_figure_past_its_alert_shows_in_its_own_line(
    installation: dict[str, str], redis_url: str, redis_prefix: str
) -> None:
    url = installation["PIXELFOX_DATABASE_URL"]

    async def arrange() -> None:
        await init_db(url)
        try:
            # The last good backup was 27 hours ago.
            await record_backup(
                "/var/backups/old.pgdump", 123, by="pg_dump", at=time.time() - 27 * HOUR
            )
            # A ready image without any verified copy, in a pool asking for two.
            owner = await User.create(username="ada", password_hash="x")
            pool = await StoragePool.get(name="hot-1")
            image = await stored_image(owner, pool, 1000, [])
            image.state = ImageState.READY
            await image.save()
        finally:
            await close_db()

    asyncio.run(arrange())
    keys = RedisKeys(redis_prefix)
    redis = Redis.from_url(redis_url)
    try:
        # A job due 15 minutes ago that no worker took, and s09's beat with two refused uploads.
        redis.zadd(keys.node_queue("s09"), {"job-1": (time.time() - 900) * 1000})
        redis.set(
            keys.node_heartbeat("s09"), json.dumps({"node_id": "s09", "quarantined_uploads": 2})
        )
        report = {"faults": {"missing": 2}, "unrepaired": {"missing": 1}}
        redis.set(keys.node_scrub("s08", 1), json.dumps({"report": report}))
        result = doctor(installation)
    finally:
        redis.close()

    lines = _lines(result.stdout)
    assert result.returncode == 1
    assert lines["backup"].startswith("fail") and "is 27.0 h old" in lines["backup"]
    queues = lines["job queues"]
    assert queues.startswith("warn") and "15 min" in queues and "node:s09" in queues
    assert lines["outbox quarantine"].startswith("warn") and "s09: 2" in lines["outbox quarantine"]
    copies = lines["image copies"]
    assert copies.startswith("warn") and "1 image(s) short of copies (hot-1: 1)" in copies
    assert lines["scrub"].startswith("fail") and "pool 1 on s08: 1" in lines["scrub"]


def test_a_recent_backup_is_ok_and_says_where_it_is(installation: dict[str, str]) -> None:
    url = installation["PIXELFOX_DATABASE_URL"]

    async def arrange() -> None:
        await init_db(url)
        try:
            await record_backup("s3://db-backups/database/x.pgdump", 4096, by="pixelfox db backup")
        finally:
            await close_db()

    asyncio.run(arrange())
    line = _lines(doctor(installation).stdout)["backup"]
    assert line.startswith("ok") and "s3://db-backups/database/x.pgdump (4096 bytes" in line
