"""``pixelfox db backup`` / ``db restore`` as real processes: back up, destroy, restore, rows back.

On real SQLite (the online backup API) and on a throw-away PostgreSQL database
(pg_dump / pg_restore), to a directory and to a real S3-compatible server (moto).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import boto3
import pytest
from prometheus_client import REGISTRY

from pixelfox_app.backups import last_backup, publish_backup_state
from pixelfox_app.config import AppSettings
from pixelfox_app.db import close_db, init_db
from tests.backup.conftest import MOTO, S3_KEY_ID, S3_SECRET
from tests.cli.support import assert_one_line_error, cli_env, migrated, pixelfox
from tests.support import Service, free_port

PASSWORD = "correct horse battery staple"


def _users(env: dict[str, str]) -> list[str]:
    url = env["PIXELFOX_DATABASE_URL"]
    if url.startswith("sqlite://"):
        with sqlite3.connect(url.removeprefix("sqlite://")) as conn:
            return [row[0] for row in conn.execute("SELECT username FROM users ORDER BY username")]

    async def read() -> list[str]:
        conn = await asyncpg.connect(url)
        try:
            rows = await conn.fetch("SELECT username FROM users ORDER BY username")
            return [row["username"] for row in rows]
        finally:
            await conn.close()

    return asyncio.run(read())


def _with_admins(env: dict[str, str], *names: str) -> dict[str, str]:
    for name in names:
        made = pixelfox(env, "create-admin", name, "--password", PASSWORD)
        assert made.returncode == 0, made.stderr
    return env


def _destroy(env: dict[str, str]) -> None:
    """What a lost disk leaves: no database file, or a database without tables."""
    url = env["PIXELFOX_DATABASE_URL"]
    if url.startswith("sqlite://"):
        path = Path(url.removeprefix("sqlite://"))
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)
        return

    async def drop() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        finally:
            await conn.close()

    asyncio.run(drop())


def _recorded(env: dict[str, str]) -> Any:
    async def read() -> Any:
        await init_db(env["PIXELFOX_DATABASE_URL"])
        try:
            record = await last_backup()
            settings = AppSettings(database_url=env["PIXELFOX_DATABASE_URL"])
            await publish_backup_state({"settings": settings})
            return record
        finally:
            await close_db()

    return asyncio.run(read())


@pytest.fixture(params=["sqlite", "postgres"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    extra = {}
    if request.param == "postgres":
        extra["PIXELFOX_DATABASE_URL"] = request.getfixturevalue("postgres_url")
    return migrated(cli_env(tmp_path, **extra))


def test_a_backup_brings_the_rows_back_after_the_database_is_destroyed(
    env: dict[str, str], tmp_path: Path
) -> None:
    _with_admins(env, "ada", "grace")

    made = pixelfox(env, "db", "backup")
    assert made.returncode == 0, made.stderr
    files = sorted((tmp_path / "var" / "backups").iterdir())
    assert len(files) == 1 and str(files[0]) in made.stdout
    record = _recorded(env)
    assert record.location == str(files[0]) and record.size == files[0].stat().st_size
    assert record.age_seconds < 3600
    kind = "postgres" if env["PIXELFOX_DATABASE_URL"].startswith("postgres") else "sqlite"
    # What the control worker publishes each minute for the backup-age alert.
    gauge = "pixelfox_database_backup_last_success_timestamp_seconds"
    assert REGISTRY.get_sample_value(gauge, {"database": kind}) == record.at

    _destroy(env)
    restored = pixelfox(env, "db", "restore", "--yes")  # the newest of the directory

    assert restored.returncode == 0, restored.stderr
    assert f"restored the {kind} database" in restored.stdout
    assert _users(env) == ["ada", "grace"]


def test_only_the_newest_backups_are_kept(tmp_path: Path) -> None:
    env = migrated(cli_env(tmp_path))
    backups = tmp_path / "elsewhere"
    for _ in range(3):
        made = pixelfox(env, "db", "backup", "--dir", str(backups), "--keep", "2")
        assert made.returncode == 0, made.stderr
    names = sorted(p.name for p in backups.iterdir())
    assert len(names) == 2
    assert "removed old backup" in made.stdout
    # A file that is not one of ours is never a backup to delete.
    (backups / "notes.txt").write_text("mine")
    pixelfox(env, "db", "backup", "--dir", str(backups), "--keep", "2")
    assert (backups / "notes.txt").exists() and len(list(backups.iterdir())) == 3


def test_a_restore_asks_first_and_leaves_the_database_alone_when_refused(tmp_path: Path) -> None:
    env = _with_admins(migrated(cli_env(tmp_path)), "ada")
    assert pixelfox(env, "db", "backup").returncode == 0
    _with_admins(env, "grace")

    refused = pixelfox(env, "db", "restore", stdin="n\n")

    assert refused.returncode == 130 and "Replace every row" in refused.stdout
    assert _users(env) == ["ada", "grace"]


def test_a_file_that_is_no_backup_is_refused_in_one_line(tmp_path: Path) -> None:
    env = _with_admins(migrated(cli_env(tmp_path)), "ada")
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all")

    assert_one_line_error(pixelfox(env, "db", "restore", str(junk), "--yes"), "neither a SQLite")
    missing = pixelfox(env, "db", "restore", str(tmp_path / "none"), "--yes")
    assert_one_line_error(missing, "no backup file")
    assert _users(env) == ["ada"]


def test_a_postgresql_dump_is_not_restored_into_sqlite(tmp_path: Path, postgres_url: str) -> None:
    pg = migrated(cli_env(tmp_path / "pg", PIXELFOX_DATABASE_URL=postgres_url))
    assert pixelfox(pg, "db", "backup").returncode == 0
    dump = next((tmp_path / "pg" / "var" / "backups").iterdir())
    lite = _with_admins(migrated(cli_env(tmp_path / "lite")), "ada")

    assert_one_line_error(
        pixelfox(lite, "db", "restore", str(dump), "--yes"), "is a postgres backup"
    )
    assert _users(lite) == ["ada"]


@pytest.fixture
def s3(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    """moto's S3 server on loopback with an empty bucket ``db-backups``."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = Service("moto", [MOTO, "-H", "127.0.0.1", "-p", str(port)], {}, tmp_path / "moto.log")
    server.start(f"{url}/moto-api/", timeout=60)
    client = boto3.client(
        "s3",
        endpoint_url=url,
        aws_access_key_id=S3_KEY_ID,
        aws_secret_access_key=S3_SECRET,
        region_name="us-east-1",
    )
    client.create_bucket(Bucket="db-backups")
    try:
        yield url, client
    finally:
        server.stop()


def test_a_backup_copied_to_the_s3_store_restores_from_there(
    tmp_path: Path, s3: tuple[str, Any]
) -> None:
    url, client = s3
    env = _with_admins(
        migrated(
            cli_env(
                tmp_path,
                PIXELFOX_S3_ENDPOINT_URL=url,
                PIXELFOX_S3_ACCESS_KEY_ID=S3_KEY_ID,
                PIXELFOX_S3_SECRET_ACCESS_KEY=S3_SECRET,
                PIXELFOX_S3_REGION="us-east-1",
            )
        ),
        "ada",
    )
    for _ in range(2):
        made = pixelfox(env, "db", "backup", "--bucket", "db-backups", "--keep", "1")
        assert made.returncode == 0, made.stderr
    keys = [o["Key"] for o in client.list_objects_v2(Bucket="db-backups")["Contents"]]
    assert len(keys) == 1 and keys[0].startswith("database/pixelfox-")
    assert f"s3://db-backups/{keys[0]}" in made.stdout
    assert _recorded(env).location == f"s3://db-backups/{keys[0]}"

    _destroy(env)
    for local in (tmp_path / "var" / "backups").iterdir():
        local.unlink()  # the whole disk is gone: only the store has it
    restored = pixelfox(env, "db", "restore", f"s3://db-backups/{keys[0]}", "--yes")

    assert restored.returncode == 0, restored.stderr
    assert _users(env) == ["ada"]
