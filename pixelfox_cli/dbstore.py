"""Database backups in the S3-compatible store the pools' originals already use.

The bucket is the ``--bucket`` given, else the backup bucket of the first
active pool that has one; the credentials and endpoint are the node's
(``PIXELFOX_S3_*``, see ``pixelfox_storage.config``). Objects live under
``<prefix>/pixelfox-<time>.<kind>`` with their SHA-256 as metadata and as the
S3 checksum, read back after the upload, as the originals' backups are
(``pixelfox_storage.backup.store``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from pixelfox_storage.backup.store import (
    BackupMismatch,
    BackupUnavailable,
    client_for,
    delete_original,
    fetch_original,
    file_sha256,
    put_original,
)
from pixelfox_storage.config import StorageSettings

from .dbdump import BackupError, keep_newest

DEFAULT_PREFIX = "database"


def s3_client() -> Any:
    return client_for(StorageSettings.from_env())


def object_key(prefix: str, name: str) -> str:
    prefix = prefix.strip().strip("/")
    return f"{prefix}/{name}" if prefix else name


def upload(client: Any, path: Path, bucket: str, key: str) -> None:
    """Copy a finished backup file to ``bucket/key``, checked by SHA-256 on the way."""
    sha256, _ = file_sha256(path)
    try:
        put_original(client, path, bucket, key, sha256)
    except (BackupUnavailable, BackupMismatch) as exc:
        raise BackupError(f"upload to s3://{bucket}/{key} failed: {exc}") from None


def download(client: Any, bucket: str, key: str, target: Path) -> None:
    """Fetch ``bucket/key`` into ``target``; refused when the bytes differ from the stored hash."""
    try:
        sha256, _, recorded = fetch_original(client, bucket, key, target)
    except FileNotFoundError:
        raise BackupError(f"s3://{bucket}/{key} does not exist") from None
    except BackupUnavailable as exc:
        raise BackupError(str(exc)) from None
    if recorded and recorded != sha256:
        target.unlink(missing_ok=True)
        raise BackupError(f"s3://{bucket}/{key} does not match its recorded SHA-256")


def list_keys(client: Any, bucket: str, prefix: str) -> list[str]:
    keys: list[str] = []
    start = object_key(prefix, "")
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=start):
            keys.extend(item["Key"] for item in page.get("Contents", []))
    except (ClientError, BotoCoreError) as exc:
        raise BackupError(f"listing s3://{bucket}/{start}: {exc}") from None
    return keys


def prune(client: Any, bucket: str, prefix: str, keep: int) -> list[str]:
    """Delete all but the newest ``keep`` backups under the prefix; returns the keys gone."""
    gone = keep_newest(list_keys(client, bucket, prefix), keep)
    for key in gone:
        try:
            delete_original(client, bucket, key)
        except BackupUnavailable as exc:
            raise BackupError(str(exc)) from None
    return gone


def split_url(url: str) -> tuple[str, str]:
    """``s3://bucket/key`` → (bucket, key)."""
    rest = url.removeprefix("s3://")
    bucket, _, key = rest.partition("/")
    if not bucket or not key:
        raise BackupError(f"{url} is not an s3://bucket/key address")
    return bucket, key
