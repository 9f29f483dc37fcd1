"""Backup files of the control app's database: make one, check one, restore one, keep N.

- SQLite: Python's online backup API (``sqlite3.Connection.backup``), which
  copies a consistent snapshot page by page while the app keeps writing; the
  copy must pass ``PRAGMA integrity_check``.
- PostgreSQL: ``pg_dump --format=custom`` (compressed, restorable table by
  table); the dump must be readable by ``pg_restore --list``. The password goes
  to the tools in ``PGPASSWORD``, never on their command line.

Files are named ``pixelfox-<UTC time>.<sqlite3|pgdump>``, written under a
``.partial`` name, flushed to disk and then renamed, so a file with the final
name is always a complete backup. Retention keeps the newest N of those names.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pixelfox_app.db import dialect
from pixelfox_app.dbschema import sqlite_path

PREFIX = "pixelfox-"
SUFFIXES = {"sqlite": ".sqlite3", "postgres": ".pgdump"}
_NAME = re.compile(r"^pixelfox-\d{8}T\d{6}\.\d{3}Z\.(sqlite3|pgdump)$")
# What each kind of file starts with.
_MAGIC = {"sqlite": b"SQLite format 3\x00", "postgres": b"PGDMP"}


class BackupError(Exception):
    """A backup or restore that did not succeed; the message says why, in one line."""


@dataclass(frozen=True)
class BackupFile:
    path: Path
    size: int
    made_at: datetime


def backup_name(kind: str, at: datetime) -> str:
    stamp = at.astimezone(UTC)
    return f"{PREFIX}{stamp:%Y%m%dT%H%M%S}.{stamp.microsecond // 1000:03d}Z{SUFFIXES[kind]}"


def is_backup_name(name: str) -> bool:
    return _NAME.match(name) is not None


def kind_of_file(path: Path) -> str:
    """``sqlite`` or ``postgres`` by the file's first bytes; BackupError for anything else."""
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror or exc}") from None
    for kind, magic in _MAGIC.items():
        if head.startswith(magic):
            return kind
    raise BackupError(f"{path} is neither a SQLite database nor a pg_dump custom-format file")


def _fsync(path: Path) -> None:
    with path.open("rb") as fh:
        os.fsync(fh.fileno())


def _finish(partial: Path, final: Path) -> None:
    _fsync(partial)
    partial.rename(final)
    dir_fd = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _sqlite_source(database_url: str) -> Path:
    path = sqlite_path(database_url)
    if path is None:
        raise BackupError("not a SQLite database URL")
    if not path.is_file():
        raise BackupError(f"no database at {path}")
    return path


def _check_sqlite(path: Path) -> None:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        answer = conn.execute("PRAGMA integrity_check").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a usable SQLite database: {exc}") from None
    finally:
        conn.close()
    if not answer or answer[0] != "ok":
        raise BackupError(f"{path} fails the integrity check: {answer}")


def _sqlite_copy(source: Path, target: Path, *, one_file: bool = False) -> None:
    """Copy ``source`` into ``target`` with the online backup API (both opened here).

    ``one_file``: leave the copy in rollback-journal mode, a single self-contained
    file (a WAL-mode copy would grow -wal and -shm files beside it when opened).
    """
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        # Five seconds for a writer's lock, as the app waits (instead of failing at once).
        src.execute("PRAGMA busy_timeout = 5000")
        dst.execute("PRAGMA busy_timeout = 5000")
        src.backup(dst)
        if one_file:
            dst.execute("PRAGMA journal_mode = DELETE")
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite backup failed: {exc}") from None
    finally:
        dst.close()
        src.close()


@dataclass(frozen=True)
class PgTarget:
    """How libpq's tools reach the database of a ``postgres://`` URL."""

    args: list[str]
    env: dict[str, str]

    @classmethod
    def from_url(cls, database_url: str) -> PgTarget:
        parts = urlsplit(database_url)
        args = [f"--dbname={unquote(parts.path.lstrip('/'))}"]
        if parts.hostname:
            args.append(f"--host={parts.hostname}")
        if parts.port:
            args.append(f"--port={parts.port}")
        if parts.username:
            args.append(f"--username={unquote(parts.username)}")
        env = {**os.environ}
        if parts.password:
            env["PGPASSWORD"] = unquote(parts.password)
        return cls(args, env)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed (Debian: postgresql-client)")
    return found


def _run(argv: list[str], env: dict[str, str], what: str) -> None:
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=6 * 3600)
    except subprocess.TimeoutExpired:
        raise BackupError(f"{what} did not finish within 6 hours") from None
    if done.returncode != 0:
        error = (done.stderr.strip() or f"exit status {done.returncode}").splitlines()
        raise BackupError(f"{what} failed: {error[-1][:300]}")


def make_backup(database_url: str, directory: Path, at: datetime | None = None) -> BackupFile:
    """A new, checked backup of the database in ``directory`` (created if missing)."""
    kind = dialect(database_url)
    made_at = at or datetime.now(UTC)
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / backup_name(kind, made_at)
    partial = final.with_name(final.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        if kind == "sqlite":
            _sqlite_copy(_sqlite_source(database_url), partial, one_file=True)
            _check_sqlite(partial)
        else:
            target = PgTarget.from_url(database_url)
            _run(
                [_tool("pg_dump"), "--format=custom", f"--file={partial}", *target.args],
                target.env,
                "pg_dump",
            )
            _run([_tool("pg_restore"), "--list", str(partial)], target.env, "pg_restore --list")
        _finish(partial, final)
    finally:
        partial.unlink(missing_ok=True)
    return BackupFile(final, final.stat().st_size, made_at)


def restore_backup(database_url: str, backup: Path) -> str:
    """Put the backup's contents into the configured database; returns its kind.

    SQLite: the backup API copies the file's pages over the database in place (a
    process that has it open sees the restored data on its next transaction).
    PostgreSQL: ``pg_restore --clean --if-exists`` in one transaction, objects
    owned by whoever restores (``--no-owner``): all of it or nothing.
    """
    kind = kind_of_file(backup)
    wanted = dialect(database_url)
    if kind != wanted:
        raise BackupError(f"{backup} is a {kind} backup; the configured database is {wanted}")
    if kind == "sqlite":
        _check_sqlite(backup)
        path = sqlite_path(database_url)
        if path is None:
            raise BackupError("not a SQLite database URL")
        path.parent.mkdir(parents=True, exist_ok=True)
        _sqlite_copy(backup, path)
        return kind
    target = PgTarget.from_url(database_url)
    _run(
        [
            _tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            *target.args,
            str(backup),
        ],
        target.env,
        "pg_restore",
    )
    return kind


def backups_in(directory: Path) -> list[Path]:
    """The backup files of ``directory``, newest first (by the time in their names)."""
    if not directory.is_dir():
        return []
    return sorted(
        (p for p in directory.iterdir() if p.is_file() and is_backup_name(p.name)),
        key=lambda p: p.name,
        reverse=True,
    )


def keep_newest(names: list[str], keep: int) -> list[str]:
    """The backup names to delete so that the newest ``keep`` stay (other names untouched)."""
    ours = sorted((n for n in names if is_backup_name(n.rsplit("/", 1)[-1])), reverse=True)
    return ours[max(keep, 1) :]


def prune_directory(directory: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups of ``directory``; returns what went."""
    gone = [directory / name for name in keep_newest([p.name for p in backups_in(directory)], keep)]
    for path in gone:
        path.unlink(missing_ok=True)
    return gone
