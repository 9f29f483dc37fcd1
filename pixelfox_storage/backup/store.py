"""The S3-compatible bucket of a pool's cold backup: put an original, check it, get it back.

boto3 (the maintained AWS SDK; any S3-compatible store works through
``PIXELFOX_S3_ENDPOINT_URL``). Its client is synchronous: the worker and the
restore command call these functions in a thread (``asyncio.to_thread``)
instead of adding an async wrapper whose botocore pin would fight boto3's.

Each object carries the original's SHA-256 twice: as user metadata
(``x-amz-meta-sha256``, hex, which any S3-compatible store keeps) and as the
S3 checksum (``ChecksumSHA256``), which AWS S3 verifies on receipt and refuses
on mismatch. After the upload, a HEAD must show the same size and hash, or
the backup does not count.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

# botocore's exceptions are small; boto3 itself (~25 MB) loads with the first client.
from botocore.exceptions import BotoCoreError, ClientError

from pixelfox_protocol import layout

from ..config import StorageSettings

READ_CHUNK = 1024 * 1024
METADATA_KEY = "sha256"


class BackupUnavailable(Exception):
    """The store could not be reached or refused the request; worth trying again later."""


class BackupMismatch(Exception):
    """Bytes and their SHA-256 disagree (local file, stored object, or the app's record)."""


@dataclass(frozen=True)
class StoredObject:
    bucket: str
    key: str
    size: int
    sha256: str  # hex, from the object's metadata ("" if it has none)


def object_key(prefix: str, path: str) -> str:
    """``<prefix>/<pool-relative path>``; the path alone when the pool has no prefix.

    The path is taken as in the public subtree: a private image's original has
    the same key, so a backup stays valid when the image's visibility changes
    (the bucket is never served; the app's record says where a restore goes).
    """
    prefix = prefix.strip().strip("/")
    path = layout.in_subtree(path, private=False)
    return f"{prefix}/{path}" if prefix else path


@lru_cache(maxsize=4)
def client_for(settings: StorageSettings) -> Any:
    """One S3 client per process and settings (boto3 clients are thread-safe)."""
    import boto3
    from botocore.config import Config

    config = Config(
        # S3-compatible stores (MinIO, Ceph, Garage …) mostly want path-style URLs.
        s3={"addressing_style": "path" if settings.s3_endpoint_url else "auto"},
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=5,
        read_timeout=60,
        # Checksums only where we ask for them: some stores refuse botocore's
        # default streaming (aws-chunked) checksums.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=settings.s3_endpoint_url or None,
        aws_access_key_id=settings.s3_access_key_id or None,
        aws_secret_access_key=settings.s3_secret_access_key or None,
        region_name=settings.s3_region or None,
        config=config,
    )


def file_sha256(path: Path) -> tuple[str, int]:
    """(hex SHA-256, size) of a file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(READ_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _b64(sha256_hex: str) -> str:
    return base64.b64encode(bytes.fromhex(sha256_hex)).decode()


def describe(client: Any, bucket: str, key: str) -> StoredObject | None:
    """What the store holds under ``key``; None when there is no such object."""
    try:
        head = client.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
            if exc.response.get("Error", {}).get("Code") == "NoSuchBucket":
                raise BackupUnavailable(f"bucket {bucket!r} does not exist") from exc
            return None
        raise BackupUnavailable(f"HEAD {bucket}/{key}: {exc}") from exc
    except BotoCoreError as exc:
        raise BackupUnavailable(f"HEAD {bucket}/{key}: {exc}") from exc
    metadata = {k.lower(): v for k, v in (head.get("Metadata") or {}).items()}
    return StoredObject(bucket, key, int(head["ContentLength"]), metadata.get(METADATA_KEY, ""))


def put_original(
    client: Any, original: Path, bucket: str, key: str, sha256: str
) -> tuple[StoredObject, bool]:
    """Copy ``original`` to ``bucket/key`` unless an object with its hash is there already.

    Refuses (BackupMismatch) when the file on disk does not have the SHA-256
    the app recorded at upload: a damaged original must not replace a good
    backup. Returns the object as the store then describes it, and whether it
    was uploaded now.
    """
    local_sha, size = file_sha256(original)
    if local_sha != sha256:
        raise BackupMismatch(f"{original} has SHA-256 {local_sha}, the app recorded {sha256}")
    existing = describe(client, bucket, key)
    if existing is not None and existing.sha256 == sha256 and existing.size == size:
        return existing, False
    try:
        with original.open("rb") as body:
            client.put_object(
                Bucket=bucket,
                Key=key,
                Body=body,
                ContentLength=size,
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=_b64(sha256),
                Metadata={METADATA_KEY: sha256},
            )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("BadDigest", "InvalidDigest"):
            raise BackupMismatch(f"the store refused {key}: checksum mismatch") from exc
        raise BackupUnavailable(f"PUT {bucket}/{key}: {exc}") from exc
    except BotoCoreError as exc:
        raise BackupUnavailable(f"PUT {bucket}/{key}: {exc}") from exc
    stored = describe(client, bucket, key)
    if stored is None or stored.sha256 != sha256 or stored.size != size:
        raise BackupMismatch(f"{bucket}/{key} does not read back as written: {stored}")
    return stored, True


def fetch_original(client: Any, bucket: str, key: str, target: Path) -> tuple[str, int, str]:
    """Download ``bucket/key`` into ``target`` (fsynced); (hex SHA-256, size, metadata hash).

    None of the bytes is trusted here; the caller compares the hash with the
    app's record before the file goes anywhere near its final path.
    """
    try:
        answer = client.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            raise FileNotFoundError(f"{bucket}/{key}") from exc
        raise BackupUnavailable(f"GET {bucket}/{key}: {exc}") from exc
    except BotoCoreError as exc:
        raise BackupUnavailable(f"GET {bucket}/{key}: {exc}") from exc
    metadata = {k.lower(): v for k, v in (answer.get("Metadata") or {}).items()}
    digest = hashlib.sha256()
    size = 0
    try:
        with target.open("wb") as fh:
            for chunk in answer["Body"].iter_chunks(READ_CHUNK):
                digest.update(chunk)
                size += len(chunk)
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
    except (BotoCoreError, OSError) as exc:
        target.unlink(missing_ok=True)
        raise BackupUnavailable(f"GET {bucket}/{key} broke off: {exc}") from exc
    return digest.hexdigest(), size, metadata.get(METADATA_KEY, "")


def delete_original(client: Any, bucket: str, key: str) -> bool:
    """Remove ``bucket/key`` (a purged image's backup); False when it was not there.

    Versioned buckets keep a delete marker and the old versions: their
    lifecycle rules decide how long those stay.
    """
    try:
        existed = describe(client, bucket, key) is not None
        client.delete_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        raise BackupUnavailable(f"DELETE {bucket}/{key}: {exc}") from exc
    except BotoCoreError as exc:
        raise BackupUnavailable(f"DELETE {bucket}/{key}: {exc}") from exc
    return existed
