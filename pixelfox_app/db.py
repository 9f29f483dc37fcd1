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

        url = os.environ.get("PIXELFOX_DATABASE_URL") or AppSettings.from_env().effective_database_url
        return tortoise_config(url)
    raise AttributeError(name)
