"""Shared fixtures: real Redis, real SQLite and PostgreSQL, real servers."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import pytest
import redis

from pixelfox_app.dbschema import migrate

REDIS_URL = os.environ.get("PIXELFOX_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_DSN = os.environ.get(
    "PIXELFOX_TEST_POSTGRES_DSN", "postgres://postgres@127.0.0.1:5432/postgres"
)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say loudly when lab tests were skipped: a green run then did not test the lab."""
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if "lab" in getattr(report, "keywords", {})
    ]
    if not skipped:
        return
    reasons = sorted({str(report.longrepr[-1]) for report in skipped if report.longrepr})
    terminalreporter.write_sep("=", f"{len(skipped)} lab tests SKIPPED", yellow=True, bold=True)
    for reason in reasons:
        terminalreporter.write_line(f"  {reason}")
    terminalreporter.write_line("  PIXELFOX_REQUIRE_LAB=1 (as in CI) makes this a failure.")


@pytest.fixture
def redis_url() -> str:
    return REDIS_URL


@contextmanager
def fresh_redis_prefix() -> Iterator[str]:
    """A Redis key prefix nobody else uses; its keys are deleted when the block ends."""
    prefix = f"pftest-{uuid.uuid4().hex[:10]}"
    try:
        yield prefix
    finally:
        delete_redis_keys(prefix)


def redis_patterns(prefix: str) -> list[str]:
    """Every key of an installation: its own, and arq's global keys of its jobs.

    arq keeps jobs under ``arq:job:<id>`` (and retry, in-progress, result), and
    every job id of an installation starts with its prefix (``RedisKeys``).
    """
    arq = [f"arq:{kind}:{prefix}:*" for kind in ("job", "retry", "in-progress", "result")]
    return [f"{prefix}:*", *arq]


def delete_redis_keys(prefix: str) -> None:
    """Delete the installation's keys and the Redis users its sync made (``<prefix>-*``)."""
    client = redis.Redis.from_url(REDIS_URL)
    for pattern in redis_patterns(prefix):
        keys = list(client.scan_iter(pattern, count=1000))
        if keys:
            client.delete(*keys)
    delete_redis_users(client, prefix)
    client.close()


def delete_redis_users(client: redis.Redis, prefix: str) -> None:
    for raw in client.execute_command("ACL", "USERS"):
        name = raw.decode() if isinstance(raw, bytes) else str(raw)
        if name.startswith(f"{prefix}-"):
            client.execute_command("ACL", "DELUSER", name)


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A Redis key prefix of this test alone; its keys are deleted afterwards."""
    with fresh_redis_prefix() as prefix:
        yield prefix


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite://{tmp_path / 'pixelfox.sqlite3'}"


async def _create_pg_database() -> tuple[str, str]:
    name = f"pftest_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(POSTGRES_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = POSTGRES_DSN.rsplit("/", 1)[0]
    return name, f"{base}/{name}"


async def _drop_pg_database(name: str) -> None:
    conn = await asyncpg.connect(POSTGRES_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped after the test."""
    try:
        name, url = asyncio.run(_create_pg_database())
    except OSError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_DSN}: {exc}")
    yield url
    asyncio.run(_drop_pg_database(name))


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Runs the test once on SQLite and once on PostgreSQL, each migrated from empty."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    asyncio.run(migrate(url))
    return url


@pytest.fixture
async def db(sqlite_url: str) -> AsyncIterator[str]:
    """An initialised Tortoise on a fresh migrated SQLite database, inside the test's loop."""
    from pixelfox_app.db import close_db, init_db

    await migrate(sqlite_url)
    await init_db(sqlite_url)
    yield sqlite_url
    await close_db()


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheels for lab hosts, built once for every Ansible-built lab of the run."""
    from tests.ansible.helpers import REPO, build_wheelhouse

    return build_wheelhouse(
        tmp_path_factory.mktemp("wheelhouse"), REPO / "build" / "ansible-wheel-cache"
    )
