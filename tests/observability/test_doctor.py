"""``pixelfox doctor`` against a live installation: one line per check, exit 1 on a failure."""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from pixelfox_app.db import close_db, init_db
from pixelfox_app.dbschema import migrate
from pixelfox_app.nodes import register_node
from pixelfox_cli.main import cli
from tests.observability.conftest import NODE_ID, Live
from tests.support import free_port

LINE = re.compile(r"^(ok|warn|fail)\s{2,}\S.*$")


@dataclass
class Outcome:
    returncode: int
    stdout: str


def doctor(env: dict[str, str]) -> Outcome:
    """Run ``pixelfox doctor`` in this process (the same command, without a second start-up)."""
    settings = {k: v for k, v in os.environ.items() if k.startswith("PIXELFOX_")}
    cleared: dict[str, str | None] = dict.fromkeys(settings)
    result = CliRunner().invoke(cli, ["doctor", "--timeout", "3"], env={**cleared, **env})
    return Outcome(result.exit_code, result.output)


def _database_with_nodes(tmp_path: Path, *node_ids: str, retired: tuple[str, ...] = ()) -> str:
    """A migrated SQLite database with these nodes registered; its URL."""
    from pixelfox_app.models import NodeState, StorageNode

    url = f"sqlite://{tmp_path / 'doctor.sqlite3'}"

    async def arrange() -> None:
        await migrate(url)
        await init_db(url)
        try:
            for node_id in node_ids:
                await register_node(node_id)
            await StorageNode.filter(node_id__in=list(retired)).update(
                state=NodeState.RETIRED, is_active=False
            )
        finally:
            await close_db()

    asyncio.run(arrange())
    return url


def test_doctor_passes_a_healthy_installation_with_one_line_per_check(live: Live) -> None:
    # The node beats by itself (every second here).
    result = doctor({**live.app_env, "PIXELFOX_LINK_SECRET": "doctor-test"})

    lines = result.stdout.splitlines()
    assert result.returncode == 0, result.stdout
    checks, summary = lines[:-1], lines[-1]
    assert all(LINE.match(line) for line in checks), lines
    by_name = {line.split()[1]: line.split()[0] for line in checks}
    assert by_name["database"] == "ok"
    assert by_name["redis"] == "ok"
    assert any(line.startswith("ok") and f"node {NODE_ID}" in line for line in checks)
    assert any(
        line.startswith("ok") and "upload hot-1" in line and "204" in line for line in checks
    )
    assert re.fullmatch(r"\d+ ok, \d+ warn, 0 fail", summary)


def test_doctor_fails_on_a_dead_redis_url(live: Live) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    result = doctor({**live.app_env, "PIXELFOX_REDIS_URL": dead})

    assert result.returncode == 1
    redis_line = next(line for line in result.stdout.splitlines() if " redis " in f" {line} ")
    assert redis_line.startswith("fail") and "127.0.0.1" in redis_line
    # The database still gets its own verdict: one failure does not hide the rest.
    assert any(line.startswith("ok") and "database" in line for line in result.stdout.splitlines())


def test_doctor_fails_a_registered_node_without_a_fresh_heartbeat(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    url = _database_with_nodes(tmp_path, "s09")
    result = doctor(
        {
            "PIXELFOX_DATABASE_URL": url,
            "PIXELFOX_REDIS_URL": redis_url,
            "PIXELFOX_REDIS_PREFIX": redis_prefix,
        }
    )

    assert result.returncode == 1
    node_line = next(line for line in result.stdout.splitlines() if "node s09" in line)
    assert node_line.startswith("fail") and "no fresh heartbeat" in node_line
    assert result.stdout.splitlines()[-1].endswith("fail")


def test_doctor_counts_a_retired_node_as_retired_and_a_stale_beat_as_placement_does(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    import json
    import time

    import redis

    from pixelfox_app.placement.health import FRESH_SECONDS
    from pixelfox_protocol.keys import HEARTBEAT_TTL, RedisKeys

    url = _database_with_nodes(tmp_path, "s08", "s09", retired=("s08",))
    # s09's last beat is still kept in Redis, but older than placement's freshness limit.
    beat = {
        "node_id": "s09",
        "version": "1",
        "pools": [],
        "received_at": time.time() - FRESH_SECONDS - 5,
    }
    client = redis.Redis.from_url(redis_url)
    client.set(RedisKeys(redis_prefix).node_heartbeat("s09"), json.dumps(beat), ex=HEARTBEAT_TTL)
    client.close()
    env = {
        "PIXELFOX_DATABASE_URL": url,
        "PIXELFOX_REDIS_URL": redis_url,
        "PIXELFOX_REDIS_PREFIX": redis_prefix,
    }

    result = doctor(env)

    lines = result.stdout.splitlines()
    retired = next(line for line in lines if "node s08" in line)
    stale = next(line for line in lines if "node s09" in line)
    assert retired.startswith("ok") and "retired" in retired
    assert stale.startswith("fail") and "no fresh heartbeat" in stale
    assert result.returncode == 1
