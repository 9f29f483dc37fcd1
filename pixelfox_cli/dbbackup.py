"""``pixelfox db backup`` / ``pixelfox db restore``: the control app's database, saved and put back.

For the single-host appliance (SQLite or PostgreSQL) and any host with the
app's settings. A backup is written to a directory (``--dir``, default
``<data dir>/backups``) and, where a bucket is configured, copied to the
S3-compatible store the pools' originals use; the newest ``--keep`` stay in
each place. A good backup is recorded in the database
(``pixelfox_app.backups``), which the alert on the backup's age and
``pixelfox doctor`` read.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import click

from pixelfox_app.config import AppSettings

from .dbcommand import describe_database, with_db
from .dbdump import BackupError, backups_in, make_backup, prune_directory, restore_backup

BY = "pixelfox db backup"


def _directory(settings: AppSettings, given: Path | None) -> Path:
    return given if given is not None else settings.data_dir / "backups"


async def _pool_bucket() -> str:
    """The backup bucket of the first active pool that has one ("" if none has)."""
    from pixelfox_app.models import StoragePool

    pool = await StoragePool.filter(is_active=True).exclude(backup_bucket="").order_by("id").first()
    return pool.backup_bucket if pool is not None else ""


# Both commands: where backups are written, and where the newest is taken from.
directory_option = click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="PIXELFOX_DB_BACKUP_DIR",
    help="Directory of the backup files (default: <data dir>/backups).",
)


@click.group("db")
def db_group() -> None:
    """Back up and restore the control app's database."""


@db_group.command("backup")
@directory_option
@click.option(
    "--keep",
    type=click.IntRange(min=1),
    default=7,
    show_default=True,
    envvar="PIXELFOX_DB_BACKUP_KEEP",
    help="Backups kept in the directory and in the bucket; older ones are deleted.",
)
@click.option(
    "--bucket",
    default="",
    envvar="PIXELFOX_DB_BACKUP_BUCKET",
    help="S3 bucket for a copy (default: the first active pool's backup bucket).",
)
@click.option(
    "--prefix",
    default="database",
    show_default=True,
    envvar="PIXELFOX_DB_BACKUP_PREFIX",
    help="Key prefix of the copies in the bucket.",
)
@click.option("--local-only", is_flag=True, help="No copy to the S3 store, even if configured.")
def backup_command(
    directory: Path | None, keep: int, bucket: str, prefix: str, local_only: bool
) -> None:
    """Write a checked backup of the database, copy it to the S3 store, keep the newest N."""
    settings = AppSettings.from_env()
    url = settings.effective_database_url
    target = _directory(settings, directory)

    async def work() -> list[str]:
        from pixelfox_app.backups import record_backup

        chosen = "" if local_only else (bucket or await _pool_bucket())
        made = await asyncio.to_thread(make_backup, url, target)
        lines = [f"backup: {describe_database(settings)} → {made.path} ({made.size} bytes)"]
        location = str(made.path)
        if chosen:
            location = await asyncio.to_thread(_to_store, made.path, chosen, prefix, keep, lines)
        gone = await asyncio.to_thread(prune_directory, target, keep)
        lines += [f"removed old backup {path}" for path in gone]
        await record_backup(location, made.size, by=BY, at=made.made_at.timestamp())
        return lines

    try:
        lines = with_db(settings, work)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    for line in lines:
        click.echo(line)


def _to_store(path: Path, bucket: str, prefix: str, keep: int, lines: list[str]) -> str:
    from .dbstore import object_key, prune, s3_client, upload

    client = s3_client()
    key = object_key(prefix, path.name)
    upload(client, path, bucket, key)
    lines.append(f"copied to s3://{bucket}/{key}")
    gone = prune(client, bucket, prefix, keep)
    lines += [f"removed old backup s3://{bucket}/{old}" for old in gone]
    return f"s3://{bucket}/{key}"


@db_group.command("restore")
@click.argument("source", required=False)
@directory_option
@click.option("--yes", is_flag=True, help="Do not ask before replacing the database's contents.")
def restore_command(source: str | None, directory: Path | None, yes: bool) -> None:
    """Replace the database's contents with a backup: a file, s3://bucket/key, or the newest.

    Stop the app and the workers first; run 'pixelfox migrate' afterwards when
    the backup comes from an older version.
    """
    settings = AppSettings.from_env()
    url = settings.effective_database_url
    try:
        with tempfile.TemporaryDirectory(prefix="pixelfox-restore-") as scratch:
            path = _source_file(source, _directory(settings, directory), Path(scratch))
            if not yes:
                what = describe_database(settings)
                click.confirm(f"Replace every row of the {what} with {source or path}?", abort=True)
            kind = restore_backup(url, path)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"restored the {kind} database from {source or path}")
    click.echo("next: 'pixelfox migrate' (if the backup is older than this version), then start")


def _source_file(source: str | None, directory: Path, scratch: Path) -> Path:
    if source is None:
        found = backups_in(directory)
        if not found:
            raise BackupError(f"no backup in {directory}; name a file or s3://bucket/key")
        return found[0]
    if source.startswith("s3://"):
        from .dbstore import download, s3_client, split_url

        bucket, key = split_url(source)
        path = scratch / Path(key).name
        download(s3_client(), bucket, key, path)
        return path
    path = Path(source)
    if not path.is_file():
        raise BackupError(f"no backup file {path}")
    return path
