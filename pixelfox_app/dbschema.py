"""Bringing a database's schema up to date."""

from __future__ import annotations

from tortoise import Tortoise

from .db import close_db, init_db


async def migrate(database_url: str) -> list[str]:
    """Apply every pending migration; returns the names applied.

    Placeholder until the aerich migrations land: creates missing tables.
    """
    await init_db(database_url)
    try:
        await Tortoise.generate_schemas(safe=True)
    finally:
        await close_db()
    return []
