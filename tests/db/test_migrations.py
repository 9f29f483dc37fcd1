"""The committed migrations bring an empty SQLite or PostgreSQL database to the models' schema."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import textwrap

import asyncpg
import pytest

from pixelfox_app import dbschema
from pixelfox_app.db import close_db, init_db
from pixelfox_app.dbschema import migrate, model_drift
from pixelfox_app.models import StoragePool, User
from tests.db.drift import drifted_migrations, newest_models_state
from tests.support import ROOT

MODEL_TABLES = {
    "users",
    "api_tokens",
    "user_sessions",
    "invites",
    "guest_uploads",
    "storage_nodes",
    "storage_pools",
    "images",
    "image_variants",
    "image_copies",
    "upload_sessions",
    "moves",
    "move_items",
    "settings",
}
HOT_PATH_INDEXES = {
    "images_owner_created",
    "images_pool_id",
    "upload_sessions_expires_at",
    "user_sessions_user_address",
}


async def _tables(url: str) -> set[str]:
    """Table names read straight from the database's catalogue, not through the ORM."""
    if url.startswith("sqlite://"):
        with sqlite3.connect(url.removeprefix("sqlite://")) as conn:
            rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        return {name for (name,) in rows if not name.startswith("sqlite_")}
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    finally:
        await conn.close()
    return {row["tablename"] for row in rows}


async def _aerich_rows(url: str) -> list[str]:
    if url.startswith("sqlite://"):
        with sqlite3.connect(url.removeprefix("sqlite://")) as conn:
            return [v for (v,) in conn.execute("SELECT version FROM aerich ORDER BY id")]
    conn = await asyncpg.connect(url)
    try:
        return [r["version"] for r in await conn.fetch("SELECT version FROM aerich ORDER BY id")]
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest) -> str:
    """An empty database of each dialect (not migrated, unlike ``database_url``)."""
    return str(request.getfixturevalue(f"{request.param}_url"))


async def test_migrate_from_empty_creates_every_table_and_records_each_migration(empty_url):
    applied = await migrate(empty_url)

    assert applied == dbschema.version_files(dbschema.dialect(empty_url))
    assert await _tables(empty_url) == MODEL_TABLES | {"aerich"}
    assert await _aerich_rows(empty_url) == applied


async def test_running_migrate_again_changes_nothing(empty_url):
    await migrate(empty_url)
    before = (await _tables(empty_url), await _aerich_rows(empty_url))

    assert await migrate(empty_url) == []
    assert (await _tables(empty_url), await _aerich_rows(empty_url)) == before


async def test_migrate_reports_progress_for_each_migration(sqlite_url):
    lines: list[str] = []

    applied = await migrate(sqlite_url, progress=lines.append)

    assert lines[0] == f"sqlite: 0 of {len(applied)} migrations already applied"
    assert lines[1:] == [f"applying {name}" for name in applied]


async def test_a_new_aerich_migrate_after_migrating_from_empty_would_write_nothing(empty_url):
    # The CI check: models and committed migrations agree, on each dialect's real database.
    await migrate(empty_url)

    assert await model_drift(dbschema.dialect(empty_url), empty_url) == ""


async def test_models_and_migrations_agree_without_touching_a_database():
    assert await dbschema.drift_report() == {"sqlite": "", "postgres": ""}


async def test_a_model_change_without_its_migration_is_reported_as_drift(tmp_path, monkeypatch):
    monkeypatch.setattr(dbschema, "MIGRATIONS_DIR", drifted_migrations(tmp_path, "sqlite"))

    drift = await model_drift("sqlite")

    assert 'ADD "region" VARCHAR(32)' in drift


def test_both_dialects_carry_the_same_migrations_of_the_same_models():
    def names(dialect: str) -> list[tuple[str, str]]:
        # "<n>_<timestamp>_<name>.py": the timestamps may differ between dialects.
        return [(f.split("_")[0], f.split("_", 2)[2]) for f in dbschema.version_files(dialect)]

    assert names("sqlite") == names("postgres")
    assert newest_models_state(dbschema.location("sqlite")) == newest_models_state(
        dbschema.location("postgres")
    )


async def test_hot_path_queries_use_their_indexes_on_sqlite(sqlite_url):
    await migrate(sqlite_url)
    path = sqlite_url.removeprefix("sqlite://")
    queries = {
        "images_owner_created": "SELECT id FROM images WHERE owner_id = 1 "
        "ORDER BY created_at DESC LIMIT 50",
        "images_pool_id": "SELECT id FROM images WHERE pool_id = 1 AND id > 100 "
        "ORDER BY id LIMIT 200",
        "upload_sessions_expires_at": "SELECT id FROM upload_sessions "
        "WHERE expires_at < '2030-01-01' LIMIT 500",
    }
    with sqlite3.connect(path) as conn:
        for index, query in queries.items():
            plan = " ".join(row[-1] for row in conn.execute(f"EXPLAIN QUERY PLAN {query}"))
            assert index in plan, (index, plan)


async def test_hot_path_indexes_exist_on_postgres(postgres_url):
    await migrate(postgres_url)
    conn = await asyncpg.connect(postgres_url)
    try:
        rows = await conn.fetch("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")
    finally:
        await conn.close()
    assert {row["indexname"] for row in rows} >= HOT_PATH_INDEXES


async def test_migrating_while_the_orm_is_open_leaves_the_callers_connections_working(
    sqlite_url,
):
    await migrate(sqlite_url)
    await init_db(sqlite_url)
    try:
        await User.create(username="before", password_hash="x")
        assert await migrate(sqlite_url) == []
        await User.create(username="after", password_hash="x")
        assert await User.all().count() == 2
    finally:
        await close_db()


async def test_one_process_can_use_sqlite_and_then_postgresql(sqlite_url, postgres_url):
    # Tortoise caches INSERT statements per connection name; switching dialects must not
    # send SQLite's statements to PostgreSQL.
    for url in (sqlite_url, postgres_url):
        await migrate(url)
        await init_db(url)
        try:
            pool = await StoragePool.create(name="p", base_path="/srv/p")
            assert (await StoragePool.get(id=pool.id)).name == "p"
        finally:
            await close_db()


def test_concurrent_migrates_of_one_postgres_database_apply_each_migration_once(postgres_url):
    script = textwrap.dedent(
        f"""
        import asyncio
        from pixelfox_app.dbschema import migrate
        asyncio.run(migrate({postgres_url!r}))
        """
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script], cwd=ROOT, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    errors = [proc.communicate(timeout=120)[1] for proc in procs]

    assert [proc.returncode for proc in procs] == [0, 0], errors
    versions = asyncio.run(_aerich_rows(postgres_url))
    assert versions == dbschema.version_files("postgres")
