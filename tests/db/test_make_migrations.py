"""The developer command that regenerates the migrations of both dialects in one go."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import subprocess
import sys

import asyncpg

from pixelfox_app import dbschema
from tests.db.drift import drifted_migrations
from tests.support import ROOT

SCRIPT = ROOT / "scripts" / "make_migrations.py"


async def _pg_columns(url: str, table: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_name = $1", table
        )
    finally:
        await conn.close()
    return {row["column_name"] for row in rows}


async def _migrate_and_check(url: str) -> tuple[int, str]:
    return len(await dbschema.migrate(url)), await dbschema.model_drift(dbschema.dialect(url), url)


def test_a_model_change_becomes_one_new_migration_per_dialect_that_applies_from_empty(
    tmp_path, monkeypatch, sqlite_url, postgres_url
):
    # A copy of the migrations from before StoragePool.region existed: the models
    # now have a field the migrations lack, as after another engineer's change.
    copy = drifted_migrations(tmp_path, "sqlite", "postgres")
    before = {d: sorted((copy / d / dbschema.APP).glob("*.py")) for d in dbschema.DIALECTS}

    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--name", "pool_region", "--migrations-dir", str(copy)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    for dialect in dbschema.DIALECTS:
        new = sorted(set((copy / dialect / dbschema.APP).glob("*.py")) - set(before[dialect]))
        number = str(len(before[dialect]))  # the next one after those already there
        assert [f.name.split("_", 2)[::2] for f in new] == [[number, "pool_region.py"]]
        assert "region" in new[0].read_text()
    # The regenerated sets bring empty databases up, and then agree with the models.
    monkeypatch.setattr(dbschema, "MIGRATIONS_DIR", copy)
    for url in (sqlite_url, postgres_url):
        assert asyncio.run(_migrate_and_check(url)) == (len(before["sqlite"]) + 1, "")
    with sqlite3.connect(sqlite_url.removeprefix("sqlite://")) as conn:
        assert "region" in {row[1] for row in conn.execute("PRAGMA table_info(storage_pools)")}
    assert "region" in asyncio.run(_pg_columns(postgres_url, "storage_pools"))


def test_with_the_models_unchanged_it_writes_nothing(tmp_path):
    copy = tmp_path / "migrations"
    shutil.copytree(dbschema.MIGRATIONS_DIR, copy)

    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--migrations-dir", str(copy)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "sqlite: models unchanged, nothing written",
        "postgres: models unchanged, nothing written",
    ]
    for dialect in dbschema.DIALECTS:
        # Oldest first, as aerich numbers them (10_ comes after 9_, not after 1_).
        names = sorted(
            (p.name for p in (copy / dialect / dbschema.APP).glob("*.py")),
            key=lambda name: int(name.split("_", 1)[0]),
        )
        assert names == dbschema.version_files(dialect)
