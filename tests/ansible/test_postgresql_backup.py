"""The postgresql role's nightly backup, rendered by Ansible and run for real on PostgreSQL.

The script is rendered from the role's template with the role's defaults and
run as root against a throw-away database of the test PostgreSQL (its socket,
as the postgres user, as on a host the role built): dump, retention, the record
the backup-age alert reads, and ``pixelfox db restore`` of its file. The
schedule (systemd timer, cron file) and pgBackRest's configuration are checked
as rendered: running pgBackRest needs a cluster of its own with archive_mode on.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from tests.ansible.render import render
from tests.cli.support import cli_env, migrated, pixelfox

pytestmark = pytest.mark.ansible

SCRIPT = {"usr/local/sbin/pixelfox-postgresql-backup.j2": "backup.sh"}
PASSWORD = "correct horse battery staple"


@pytest.fixture
def backup_dir() -> Iterator[Path]:
    """A directory the postgres user owns, as the role makes it (pytest's tmp is root's)."""
    path = Path(tempfile.mkdtemp(prefix="pixelfox-pg-backup-"))
    shutil.chown(path, "postgres", "postgres")
    path.chmod(0o700)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _fetch(url: str, sql: str) -> list[asyncpg.Record]:
    """Rows of one query; a script of several statements (no rows) when it has a ';'."""

    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(url)
        try:
            if ";" in sql:
                await conn.execute(sql)
                return []
            return list(await conn.fetch(sql))
        finally:
            await conn.close()

    return asyncio.run(run())


@pytest.mark.skipif(os.geteuid() != 0, reason="runs the script as root, as cron does")
def test_the_nightly_backup_dumps_keeps_the_newest_and_records_itself(
    tmp_path: Path, postgres_url: str, backup_dir: Path
) -> None:
    parts = urlsplit(postgres_url)
    env = migrated(cli_env(tmp_path, PIXELFOX_DATABASE_URL=postgres_url))
    assert pixelfox(env, "create-admin", "ada", "--password", PASSWORD).returncode == 0
    values = {
        "postgresql_port": parts.port or 5432,
        "postgresql_database": parts.path.lstrip("/"),
        "postgresql_backup_dir": str(backup_dir),
        "postgresql_backup_keep": 2,
    }
    render("postgresql", tmp_path / "out", values, SCRIPT)
    script = tmp_path / "out" / "backup.sh"

    runs = [subprocess.run(["sh", str(script)], capture_output=True, text=True) for _ in range(3)]

    for run in runs:
        assert run.returncode == 0, run.stdout + run.stderr
        assert "warning" not in run.stderr
    dumps = sorted(backup_dir.iterdir())
    assert len(dumps) == 2 and all(p.suffix == ".pgdump" for p in dumps)
    assert "removed old backup" in runs[2].stdout
    assert not list(backup_dir.glob("*.partial"))
    (row,) = _fetch(postgres_url, "SELECT value FROM settings WHERE key = 'database_backup'")
    record = json.loads(row["value"])
    assert record["location"] == str(dumps[-1]) and record["size"] == dumps[-1].stat().st_size
    assert record["by"] == "pg_dump"

    # The role's dump is a file `pixelfox db restore` takes.
    _fetch(postgres_url, "DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    restored = pixelfox(env, "db", "restore", str(dumps[-1]), "--yes")
    assert restored.returncode == 0, restored.stderr
    assert [r["username"] for r in _fetch(postgres_url, "SELECT username FROM users")] == ["ada"]


def test_the_backup_runs_nightly_from_a_timer_or_a_cron_file(tmp_path: Path) -> None:
    templates = {
        "etc/systemd/system/pixelfox-postgresql-backup.timer.j2": "backup.timer",
        "etc/systemd/system/pixelfox-postgresql-backup.service.j2": "backup.service",
        "etc/cron.d/pixelfox-postgresql-backup.j2": "cron",
    }
    values = {"postgresql_backup_hour": 4, "postgresql_backup_minute": 5}
    found = render(
        "postgresql",
        tmp_path,
        {**values, "postgresql_backup_scheduler": "cron"},
        templates,
        {"packages": "postgresql_install_packages"},
    )

    assert "OnCalendar=*-*-* 04:05:00" in (tmp_path / "backup.timer").read_text().splitlines()
    service = (tmp_path / "backup.service").read_text()
    assert "ExecStart=/usr/local/sbin/pixelfox-postgresql-backup" in service.splitlines()
    cron = (tmp_path / "cron").read_text().splitlines()
    assert any(
        line.startswith("5 4 * * * root /usr/local/sbin/pixelfox-postgresql-backup")
        for line in cron
    )
    # Where cron runs it, the role installs cron; pgBackRest only when asked for.
    assert "cron" in found["packages"] and "pgbackrest" not in found["packages"]


def test_pgbackrest_archives_wal_into_an_s3_bucket_when_asked_for(tmp_path: Path) -> None:
    values = {
        "postgresql_pgbackrest": True,
        "postgresql_backup_scheduler": "systemd",
        "postgresql_pgbackrest_repo_type": "s3",
        "postgresql_pgbackrest_s3_bucket": "pixelfox-wal",
        "postgresql_pgbackrest_s3_endpoint": "minio.internal:9000",
        "postgresql_pgbackrest_s3_region": "eu-central-1",
        "postgresql_pgbackrest_s3_key": "AKIA",
        "postgresql_pgbackrest_s3_key_secret": "s3cret",
        "postgresql_pgbackrest_s3_uri_style": "path",
    }
    templates = {
        "etc/pgbackrest/pgbackrest.conf.j2": "pgbackrest.conf",
        "etc/postgresql/conf.d/pixelfox.conf.j2": "pixelfox.conf",
        **SCRIPT,
    }
    found = render(
        "postgresql", tmp_path, values, templates, {"packages": "postgresql_install_packages"}
    )

    conf = (tmp_path / "pgbackrest.conf").read_text().splitlines()
    for line in (
        "repo1-type=s3",
        "repo1-s3-bucket=pixelfox-wal",
        "repo1-s3-endpoint=minio.internal:9000",
        "repo1-s3-uri-style=path",
        "repo1-s3-key-secret=s3cret",
        "[pixelfox]",
        "pg1-path=/var/lib/postgresql/15/pixelfox",
        "pg1-port=5433",
    ):
        assert line in conf
    server = (tmp_path / "pixelfox.conf").read_text().splitlines()
    assert "archive_mode = on" in server
    assert "archive_command = 'pgbackrest --stanza=pixelfox archive-push %p'" in server
    assert "pgbackrest --stanza=pixelfox" in (tmp_path / "backup.sh").read_text()
    assert "pgbackrest" in found["packages"] and "cron" not in found["packages"]


def test_without_pgbackrest_the_server_settings_are_unchanged(tmp_path: Path) -> None:
    render("postgresql", tmp_path, {}, {"etc/postgresql/conf.d/pixelfox.conf.j2": "pixelfox.conf"})
    server = (tmp_path / "pixelfox.conf").read_text()
    assert "archive" not in server and "listen_addresses = 'localhost'" in server
