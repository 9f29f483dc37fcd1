"""Tortoise configuration shared by the app, the control worker, the CLI and aerich."""

from __future__ import annotations

import os
from typing import Any

MODELS = ["pixelfox_app.models", "aerich.models"]


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": database_url},
        "apps": {"models": {"models": MODELS, "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


def dialect(database_url: str) -> str:
    return "postgres" if database_url.startswith(("postgres://", "postgresql://")) else "sqlite"


def __getattr__(name: str) -> Any:
    # aerich reads ``pixelfox_app.db.TORTOISE_ORM``; computed on access so that
    # importing this module never reads the environment.
    if name == "TORTOISE_ORM":
        from .config import AppSettings

        url = (
            os.environ.get("PIXELFOX_DATABASE_URL") or AppSettings.from_env().effective_database_url
        )
        return tortoise_config(url)
    raise AttributeError(name)


def forget_cached_queries() -> None:
    """Drop Tortoise's per-process SQL cache before the ORM opens a (maybe other) database.

    Tortoise caches each model's INSERT/DELETE SQL keyed by connection *name*, not
    dialect; a process that opens SQLite and later PostgreSQL (the test suite, the
    migration tooling) would otherwise send SQLite SQL to PostgreSQL.
    """
    from tortoise.backends.base.executor import EXECUTOR_CACHE

    EXECUTOR_CACHE.clear()


async def init_db(database_url: str) -> None:
    """Open the ORM for this process (every task sees the same connections)."""
    from tortoise import Tortoise

    forget_cached_queries()

    # Tortoise 1.x binds its state to a context; a server's request tasks run in
    # other contexts than its start-up hook, so this process-wide fallback is needed.
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)


async def close_db() -> None:
    from tortoise import Tortoise

    await Tortoise.close_connections()
