"""Running ``pixelfox`` as a real process against a temporary SQLite database."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import uuid
from pathlib import Path
from typing import Any

from pixelfox_app.dbschema import migrate
from pixelfox_protocol.tokens import new_signing_key
from tests.support import PIXELFOX, ROOT


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of one operator: only the PIXELFOX_* variables given here."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("PIXELFOX_")}
    return {
        **base,
        "PIXELFOX_DATA_DIR": str(tmp_path / "var"),
        "PIXELFOX_DATABASE_URL": f"sqlite://{tmp_path / 'pixelfox.sqlite3'}",
        "PIXELFOX_PUBLIC_DOMAIN": "https://img.example.net",
        "PIXELFOX_TOKEN_SIGNING_KEY": new_signing_key()[0],
        # Its own prefix: ``nodes add`` sets Redis users named after it (tests/cli/conftest.py
        # deletes them after the test).
        "PIXELFOX_REDIS_PREFIX": _prefix(),
        **extra,
    }


PREFIXES: list[str] = []


def _prefix() -> str:
    prefix = f"pftest-{uuid.uuid4().hex[:10]}"
    PREFIXES.append(prefix)
    return prefix


def migrated(env: dict[str, str]) -> dict[str, str]:
    """Migrate the env's database in-process (quicker than a subprocess) and return env."""
    asyncio.run(migrate(env["PIXELFOX_DATABASE_URL"]))
    return env


def pixelfox(env: dict[str, str], *args: str, stdin: str | None = None) -> Any:
    """Run ``pixelfox <args>`` and return the finished process (text output)."""
    return subprocess.run(
        [*PIXELFOX, *args],
        env=env,
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_line_error(result: Any, *fragments: str) -> str:
    """Exit 1, no traceback, and stderr is exactly one ``Error: …`` line containing fragments."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def query(env: dict[str, str], sql: str, *params: object) -> list[tuple[Any, ...]]:
    """Read the env's SQLite database directly, not through the ORM under test."""
    path = env["PIXELFOX_DATABASE_URL"].removeprefix("sqlite://")
    with sqlite3.connect(path) as conn:
        return conn.execute(sql, params).fetchall()
