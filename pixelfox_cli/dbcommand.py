"""Running one operator command against the control app's database, and showing results.

Opens the ORM, runs the command's coroutine, closes the ORM, and turns the
failures an operator can act on (database unreachable, schema missing, input
refused) into one line instead of a traceback.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import click
from tortoise.exceptions import DBConnectionError, OperationalError

from pixelfox_app.config import AppSettings
from pixelfox_app.db import close_db, dialect, init_db
from pixelfox_app.dbschema import DatabaseUnavailable, sqlite_path

T = TypeVar("T")

# Texts by which the drivers say "the tables are not there".
_NO_SCHEMA = ("no such table", "does not exist")


def masked(database_url: str) -> str:
    """The URL with its password replaced, fit for a message."""
    parts = urlsplit(database_url)
    if not parts.password:
        return database_url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def unreachable(database_url: str, exc: BaseException) -> click.ClickException:
    return click.ClickException(
        f"cannot reach the database at {masked(database_url)}: {_one_line(exc)}"
    )


def run_sync(coro: Awaitable[T], database_url: str) -> T:
    """Run a coroutine that opens the database itself; map its failures to one line."""

    async def _main() -> T:
        return await coro

    try:
        return asyncio.run(_main())
    except DatabaseUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    except ValueError as exc:  # AccountError, PoolError and the input checks of models
        raise click.ClickException(_one_line(exc)) from None
    except (OSError, DBConnectionError, sqlite3.OperationalError) as exc:
        raise unreachable(database_url, exc) from None
    except OperationalError as exc:
        if "unable to open database file" in str(exc):
            raise unreachable(database_url, exc) from None
        if any(marker in str(exc) for marker in _NO_SCHEMA):
            raise click.ClickException(
                f"the database at {masked(database_url)} has no schema yet: "
                "run 'pixelfox migrate' first"
            ) from None
        raise click.ClickException(f"database error: {_one_line(exc)}") from None
    except Exception as exc:
        # asyncpg reports a wrong password or a missing database with its own types.
        if type(exc).__module__.startswith("asyncpg"):
            raise unreachable(database_url, exc) from None
        raise


def with_db(settings: AppSettings, work: Callable[[], Awaitable[T]]) -> T:
    """Open the ORM on the configured database, run ``work()``, close the ORM."""
    url = settings.effective_database_url
    path = sqlite_path(url)
    if path is not None and not path.is_file():
        # Opening it would create an empty file; say what is missing instead.
        raise click.ClickException(
            f"no database at {path}: run 'pixelfox migrate' first (or set PIXELFOX_DATABASE_URL)"
        )

    async def _session() -> T:
        await init_db(url)
        try:
            return await work()
        finally:
            await close_db()

    return run_sync(_session(), url)


def describe_database(settings: AppSettings) -> str:
    url = settings.effective_database_url
    return f"{dialect(url)} database {masked(url)}"


def echo_table(rows: Sequence[Sequence[str]]) -> None:
    """Print rows (the first is the header) as left-aligned columns."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
