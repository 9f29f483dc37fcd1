"""Regenerate the committed migrations of BOTH dialects from the current models.

    .venv/bin/python scripts/make_migrations.py [--name add_foo] [--fresh]

For each dialect it makes a scratch database (a temporary SQLite file; a temporary
PostgreSQL database on --postgres-dsn), applies the committed migrations there, and
lets aerich write the difference to the models as the next migration. With no
migrations yet (or with --fresh, which deletes them first: only before a release)
it writes the initial one. Then it checks that both dialects agree.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pixelfox_app import dbschema

DEFAULT_PG_DSN = os.environ.get(
    "PIXELFOX_TEST_POSTGRES_DSN", "postgres://postgres@127.0.0.1:5432/postgres"
)


@asynccontextmanager
async def scratch_database(dialect: str, pg_dsn: str) -> AsyncIterator[str]:
    """A new, empty database of the dialect, removed afterwards."""
    if dialect == "sqlite":
        with tempfile.TemporaryDirectory(prefix="pixelfox-mig-") as tmp:
            yield f"sqlite://{Path(tmp) / 'scratch.sqlite3'}"
        return
    name = f"pixelfox_mig_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(pg_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield f"{pg_dsn.rsplit('/', 1)[0]}/{name}"
    finally:
        conn = await asyncpg.connect(pg_dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


async def make(dialect: str, name: str, pg_dsn: str) -> str:
    """Write the next migration of one dialect; returns its file name ('' if none needed)."""
    where = dbschema.location(dialect)
    async with scratch_database(dialect, pg_dsn) as url:
        if not dbschema.version_files(dialect):
            # aerich refuses to start a migration set in a folder holding anything at all.
            shutil.rmtree(where / dbschema.APP, ignore_errors=True)
            async with dbschema.aerich_command(url, where) as command:
                await command.init_db(safe=True)
            return dbschema.version_files(dialect)[-1]
        await dbschema.migrate(url)
        async with dbschema.aerich_command(url, where) as command:
            return await command.migrate(name, no_input=True)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", default="update", help="suffix of the new migration files")
    parser.add_argument("--fresh", action="store_true", help="delete existing migrations first")
    parser.add_argument("--postgres-dsn", default=DEFAULT_PG_DSN, help="server for scratch DBs")
    parser.add_argument(
        "--migrations-dir",
        type=Path,
        default=dbschema.MIGRATIONS_DIR,
        help="where the per-dialect folders live (tests point this at a copy)",
    )
    args = parser.parse_args()
    dbschema.MIGRATIONS_DIR = args.migrations_dir

    if args.fresh:
        for dialect in dbschema.DIALECTS:
            shutil.rmtree(dbschema.location(dialect) / dbschema.APP, ignore_errors=True)
    for dialect in dbschema.DIALECTS:
        written = await make(dialect, args.name, args.postgres_dsn)
        print(
            f"{dialect}: {'wrote ' + written if written else 'models unchanged, nothing written'}"
        )

    counts = {d: len(dbschema.version_files(d)) for d in dbschema.DIALECTS}
    if len(set(counts.values())) != 1:
        print(f"dialects disagree on the number of migrations: {counts}", file=sys.stderr)
        return 1
    drift = await dbschema.drift_report()
    if any(drift.values()):
        print(f"models and migrations still disagree: {drift}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
