"""Bringing a database's schema up to date, and checking that models and migrations agree.

Aerich writes a migration as SQL of one dialect, so the repository carries one
set per dialect (``migrations/sqlite/models/`` and ``migrations/postgres/models/``),
generated from the same models by ``scripts/make_migrations.py``. ``migrate``
applies the set matching the URL's dialect.

Aerich keeps its working state on class attributes and opens the ORM through
``Tortoise.init``; every use here therefore runs in its own Tortoise context (so a
process that already has the ORM open keeps its connections) with that state reset.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aerich import Command
from aerich.migrate import Migrate
from aerich.models import Aerich
from aerich.utils import import_py_module
from tortoise import Tortoise, connections
from tortoise.context import TortoiseContext
from tortoise.exceptions import OperationalError
from tortoise.transactions import in_transaction

from .db import dialect, forget_cached_queries, tortoise_config

APP = "models"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
DIALECTS = ("sqlite", "postgres")
# Serialises concurrent ``migrate`` runs on one PostgreSQL database (any constant will do).
_PG_LOCK_KEY = 0x5069_7846_6F78  # "PixFox"
# Stands in for a PostgreSQL database when only DDL is generated: nothing connects to it.
_OFFLINE_URLS = {
    "sqlite": "sqlite://:memory:",
    "postgres": "postgres://pixelfox@127.0.0.1/pixelfox",
}

Progress = Callable[[str], None]


def location(dialect_name: str) -> Path:
    """Where aerich keeps the migrations of one dialect (it appends the app name)."""
    if dialect_name not in DIALECTS:
        raise ValueError(f"unknown database dialect {dialect_name!r}")
    return MIGRATIONS_DIR / dialect_name


def version_files(dialect_name: str) -> list[str]:
    """The committed migration files of a dialect, oldest first."""
    _reset_aerich_state()
    Migrate.migrate_location = location(dialect_name) / APP
    return Migrate.get_all_version_files()


def _reset_aerich_state() -> None:
    # Aerich's CLI runs once per process; its operator lists are class attributes
    # that only ever grow. Start every run from a clean slate.
    Migrate.upgrade_operators = []
    Migrate.downgrade_operators = []
    Migrate._upgrade_fk_m2m_index_operators = []
    Migrate._downgrade_fk_m2m_index_operators = []
    Migrate._upgrade_m2m = []
    Migrate._downgrade_m2m = []
    Migrate._rename_fields = {}
    Migrate._rename_models = {}
    Migrate._last_version_content = None
    Migrate._db_version = None


@asynccontextmanager
async def aerich_command(
    database_url: str, where: Path, *, offline: bool = False
) -> AsyncIterator[Command]:
    """An initialised aerich ``Command`` on ``database_url`` in a private Tortoise context."""
    _reset_aerich_state()
    forget_cached_queries()
    with TortoiseContext():
        command = Command(tortoise_config(database_url), app=APP, location=str(where))
        try:
            await command.init(offline=offline)
            yield command
        finally:
            await Tortoise.close_connections()


async def _is_applied(version_file: str) -> bool:
    try:
        return await Aerich.exists(version=version_file, app=APP)
    except OperationalError:  # no ``aerich`` table yet: an empty database
        return False


@asynccontextmanager
async def _exclusive(dialect_name: str) -> AsyncIterator[None]:
    """Hold a lock so two processes migrating one database at once take turns."""
    if dialect_name != "postgres":
        # SQLite: one host, and each migration runs in one write transaction.
        yield
        return
    client: Any = connections.get("default")
    async with client.acquire_connection() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", _PG_LOCK_KEY)
        try:
            yield
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _PG_LOCK_KEY)


class DatabaseUnavailable(RuntimeError):
    """The database cannot be opened at all (its message names it, without a password)."""


def sqlite_path(database_url: str) -> Path | None:
    """The file of a ``sqlite://`` URL; None for PostgreSQL and in-memory databases."""
    if dialect(database_url) != "sqlite":
        return None
    path = database_url.split("://", 1)[1].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def _open_sqlite_file(path: Path) -> None:
    # aiosqlite leaves its worker thread behind when the first open fails, which then
    # crashes noisily at exit; opening once with the stdlib turns that into one error.
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        sqlite3.connect(path).close()
    except (OSError, sqlite3.Error) as exc:
        raise DatabaseUnavailable(f"cannot open the SQLite database {path}: {exc}") from None


async def migrate(database_url: str, progress: Progress | None = None) -> list[str]:
    """Apply every pending migration of the URL's dialect; returns the files applied.

    Works from an empty database and is a no-op when nothing is pending. ``progress``
    receives one line per step (for the CLI). Runs on a Tortoise context of its own, so
    a caller's open ORM is left alone. One run at a time per process (aerich's state is
    global); runs of several processes on one PostgreSQL database take turns.
    """
    say = progress or (lambda _line: None)
    kind = dialect(database_url)
    if (path := sqlite_path(database_url)) is not None:
        _open_sqlite_file(path)
    applied: list[str] = []
    async with aerich_command(database_url, location(kind)) as command, _exclusive(kind):
        modules = Migrate.get_all_version_modules()
        if not modules:
            raise RuntimeError(f"no migrations found in {location(kind) / APP}")
        pending = [m for m in modules if not await _is_applied(m.name + ".py")]
        say(f"{kind}: {len(modules) - len(pending)} of {len(modules)} migrations already applied")
        for module in pending:
            version_file = module.name + ".py"
            say(f"applying {version_file}")
            # Same steps as ``Command.upgrade``, one file at a time so progress can be shown.
            if getattr(import_py_module(module), "RUN_IN_TRANSACTION", True):
                async with in_transaction("default") as conn:
                    await command._upgrade(conn, version_file, version_module=module)
            else:
                await command._upgrade(
                    connections.get("default"), version_file, version_module=module
                )
            applied.append(version_file)
    return applied


async def model_drift(dialect_name: str, database_url: str | None = None) -> str:
    """The SQL a new ``aerich migrate`` would write for this dialect; empty when none.

    Without ``database_url`` the models are compared with the state recorded in the
    newest committed migration, and no database is touched. With it, they are compared
    with the state recorded in that (migrated) database, as ``aerich migrate`` does.
    Aerich writes its answer as a file, so it works on a scratch copy of the migrations.
    """
    source = location(dialect_name) / APP
    if not any(source.glob("*.py")):
        raise RuntimeError(f"no migrations found in {source}")
    with tempfile.TemporaryDirectory(prefix="pixelfox-drift-") as scratch:
        shutil.copytree(source, Path(scratch) / APP)
        url = database_url or _OFFLINE_URLS[dialect_name]
        offline = database_url is None
        async with aerich_command(url, Path(scratch), offline=offline) as command:
            written = await command.migrate("drift", no_input=True, offline=offline)
        if not written:
            return ""
        module = Path(scratch) / APP / written
        return _upgrade_sql(module.read_text(encoding="utf-8"))


def _upgrade_sql(migration_text: str) -> str:
    # The generated file's upgrade() returns one triple-quoted SQL string.
    body = migration_text.split("async def upgrade", 1)[1].split('"""', 2)[1]
    return "\n".join(line.strip() for line in body.strip().splitlines())


async def drift_report() -> dict[str, str]:
    """``model_drift`` of every dialect, without touching a database."""
    return {name: await model_drift(name) for name in DIALECTS}
