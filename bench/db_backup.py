"""Database backup and restore against the plain copy of the same database, in the same run.

A migrated database (SQLite file, and a throw-away PostgreSQL database) gets
``--images`` image rows with seven variant rows each. Then, round by round:

- SQLite: ``cp`` of the database file (what a backup cannot beat) against
  ``pixelfox db backup``'s work (the online backup API, then ``PRAGMA
  integrity_check`` of the copy, fsync and rename), and the restore of that
  file into the database;
- PostgreSQL: a bare ``pg_dump --format=custom`` against the same with the
  check (``pg_restore --list``), fsync and rename, and ``pg_restore --clean``
  of that dump in one transaction.

    .venv/bin/python bench/db_backup.py [--images N] [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

POSTGRES_DSN = "postgres://postgres@127.0.0.1:5432/postgres"
VARIANTS = ["thumb200", "thumb400", "medium", "large", "webp200", "webp400", "avif"]


async def fill(database_url: str, images: int) -> None:
    from pixelfox_app.db import close_db, init_db
    from pixelfox_app.dbschema import migrate
    from pixelfox_app.models import Image, ImageState, ImageVariant, StoragePool, User
    from pixelfox_app.nodes import register_node

    await migrate(database_url)
    await init_db(database_url)
    try:
        await register_node("bench", "bench.pixelfox.test")
        pool = await StoragePool.create(name="bench-pool", node_id="bench", base_path="/srv/x")
        user = await User.create(username="bench", password_hash="x")
        day = datetime.now(UTC)
        for start in range(0, images, 500):
            batch = []
            for _ in range(min(500, images - start)):
                image_uuid = uuid.uuid4()
                batch.append(
                    Image(
                        uuid=image_uuid,
                        short_id=secrets.token_urlsafe(6),
                        owner=user,
                        pool=pool,
                        path=f"original/{day:%Y/%m/%d}/{image_uuid}.jpg",
                        size=1_000_000,
                        sha256=secrets.token_hex(32),
                        mime="image/jpeg",
                        state=ImageState.READY,
                    )
                )
            await Image.bulk_create(batch)
            made = await Image.filter(uuid__in=[i.uuid for i in batch])
            await ImageVariant.bulk_create(
                [
                    ImageVariant(
                        image=image,
                        pool=pool,
                        kind=kind,
                        format="webp",
                        path=f"variants/{day:%Y/%m/%d}/{image.uuid}_{kind}.webp",
                        size=50_000,
                        width=400,
                        height=300,
                    )
                    for image in made
                    for kind in VARIANTS
                ]
            )
    finally:
        await close_db()


def timed(work: Callable[..., object], *args: object, **kwargs: object) -> float:
    started = time.perf_counter()
    work(*args, **kwargs)
    return time.perf_counter() - started


def row(name: str, seconds: list[float], base: float, size: int) -> str:
    median = statistics.median(seconds)
    return (
        f"{name:<44} {median * 1000:9.0f} ms  {size / 1e6:8.1f} MB  "
        f"{size / median / 1e6:8.1f} MB/s  {median / base:6.2f}x"
    )


def bench_sqlite(images: int, rounds: int, scratch: Path) -> list[str]:
    from pixelfox_cli.dbdump import make_backup, restore_backup

    database = scratch / "pixelfox.sqlite3"
    url = f"sqlite://{database}"
    asyncio.run(fill(url, images))
    copies, backups, restores = [], [], []
    made = None
    for n in range(rounds):
        copies.append(timed(shutil.copyfile, database, scratch / f"copy-{n}"))
        target = scratch / f"backups-{n}"
        started = time.perf_counter()
        made = make_backup(url, target)
        backups.append(time.perf_counter() - started)
        restores.append(timed(restore_backup, url, made.path))
    assert made is not None
    base = statistics.median(copies)
    size = database.stat().st_size
    return [
        row("SQLite: cp of the file", copies, base, size),
        row("SQLite: db backup (backup API + check)", backups, base, made.size),
        row("SQLite: db restore (backup API)", restores, base, made.size),
    ]


def bench_postgres(images: int, rounds: int, scratch: Path) -> list[str]:
    import asyncpg

    from pixelfox_cli.dbdump import PgTarget, make_backup, restore_backup

    name = f"pfbench_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(POSTGRES_DSN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = f"{POSTGRES_DSN.rsplit('/', 1)[0]}/{name}"
    try:
        asyncio.run(fill(url, images))
        target = PgTarget.from_url(url)
        bare, backups, restores = [], [], []
        made = None
        for n in range(rounds):
            plain = scratch / f"plain-{n}.pgdump"
            argv = ["pg_dump", "--format=custom", f"--file={plain}", *target.args]
            bare.append(timed(subprocess.run, argv, env=target.env, check=True))
            started = time.perf_counter()
            made = make_backup(url, scratch / f"pg-{n}")
            backups.append(time.perf_counter() - started)
            restores.append(timed(restore_backup, url, made.path))
        assert made is not None
        base = statistics.median(bare)
        return [
            row("PostgreSQL: bare pg_dump -Fc", bare, base, made.size),
            row("PostgreSQL: db backup (pg_dump -Fc + check)", backups, base, made.size),
            row("PostgreSQL: db restore (pg_restore --clean)", restores, base, made.size),
        ]
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pixelfox-bench-db-") as tmp:
        scratch = Path(tmp)
        (scratch / "sqlite").mkdir()
        (scratch / "pg").mkdir()
        lines = bench_sqlite(args.images, args.rounds, scratch / "sqlite")
        lines += bench_postgres(args.images, args.rounds, scratch / "pg")
    print(
        f"database of {args.images} images with {len(VARIANTS)} variants each, "
        f"median of {args.rounds} rounds"
    )
    print(f"{'':<44} {'time':>12}  {'size':>11}  {'rate':>13}  {'vs plain copy':>8}")
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
