"""Bringing originals back from a pool's bucket (``pixelfox restore``, run on the node).

It runs on the storage node that holds the pool: that node has the pool
directory, the S3 credentials and a node credential, but no database. So it
asks the app which originals the pool (or one image) has and their SHA-256
recorded at upload, and trusts nothing else: a download is written to a
temporary file in the pool, its hash compared with the app's, and only then
renamed into place. An original already on disk with the right hash is left
alone; one with a wrong hash (damaged) is replaced by the verified backup.

Restored originals get their variants made again: ``process_image`` on the
node's background lane, so a whole pool's restore does not crowd out fresh
uploads.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from pixelfox_common.durable import fsync_dir
from pixelfox_common.logs import new_request_id
from pixelfox_protocol import jobs, layout, links
from pixelfox_protocol.internal import BackupRecord, PoolInfo
from pixelfox_protocol.keys import RedisKeys

from ..appapi import AppAPI
from ..config import StorageSettings
from ..node_jobs.queue import connect, enqueue
from ..pools import PoolMap, load_pool_map
from .store import BackupUnavailable, client_for, fetch_original, file_sha256, object_key

log = logging.getLogger(__name__)

TEMP_DIR = ".tmp/restore"
# A manifest page of a big pool may take the app a while to read.
RESTORE_APP_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
# Downloads at once during a pool restore: the store's latency, not our CPU, is the limit.
PARALLEL = 4
# States that mean the original is on disk and right.
GOOD = frozenset({"present", "restored", "replaced", "would-restore"})


class RestoreError(Exception):
    """The restore cannot start (unknown image or pool, no bucket, app unreachable)."""


@dataclass(frozen=True)
class Outcome:
    image_uuid: str
    path: str
    # present | restored | replaced | would-restore | not-in-backup | mismatch | failed
    state: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.state in GOOD


def restore_file(client: Any, pool: PoolInfo, record: BackupRecord, *, dry_run: bool) -> Outcome:
    """Restore one original if it is missing or damaged (runs in a worker thread)."""
    base = Path(pool.base_path)

    def outcome(state: str, detail: str = "") -> Outcome:
        return Outcome(record.image_uuid, record.path, state, detail)

    try:
        final = links.resolve_file(base, record.path)
    except layout.UnsafePath:
        return outcome("failed", f"unsafe path {record.path!r}")
    damaged = False
    if final.is_file():
        if file_sha256(final)[0] == record.sha256:
            return outcome("present")
        damaged = True
    if dry_run:
        return outcome("would-restore", "damaged on disk" if damaged else "missing on disk")
    temp_dir = base / TEMP_DIR
    temp_dir.mkdir(parents=True, exist_ok=True)
    temp = temp_dir / f"{final.name}.{secrets.token_hex(4)}.tmp"
    key = object_key(pool.backup_prefix, record.path)
    try:
        try:
            sha256, _, _ = fetch_original(client, pool.backup_bucket, key, temp)
        except FileNotFoundError:
            return outcome("not-in-backup", f"no object {pool.backup_bucket}/{key}")
        except BackupUnavailable as exc:
            return outcome("failed", str(exc))
        if sha256 != record.sha256:
            return outcome("mismatch", f"backup has SHA-256 {sha256}, app recorded {record.sha256}")
        os.chmod(temp, 0o644)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, final)
        fsync_dir(final.parent)
    finally:
        temp.unlink(missing_ok=True)
    return outcome("replaced" if damaged else "restored")


async def _records(api: AppAPI, pool_id: int) -> AsyncIterator[list[BackupRecord]]:
    after: int | None = 0
    while after is not None:
        page = await api.pool_manifest(pool_id, after)
        yield page.items
        after = page.next_after


def _pool(pool_map: PoolMap, pool_id: int, settings: StorageSettings) -> PoolInfo:
    pool = pool_map.pools.get(pool_id)
    if pool is None:
        raise RestoreError(f"pool {pool_id} is not on node {settings.node_id}")
    if not pool.backup_bucket:
        raise RestoreError(f"pool {pool_id} has no backup bucket ({pool_map.source} pool map)")
    return pool


async def restore(
    settings: StorageSettings,
    *,
    image_uuid: str | None = None,
    pool_id: int | None = None,
    dry_run: bool = False,
    remake_variants: bool = True,
    report: Callable[[Outcome], None] = lambda _: None,
) -> list[Outcome]:
    """Restore one image's original or all of a pool's; ``report`` sees each outcome."""
    if (image_uuid is None) == (pool_id is None):
        raise RestoreError("restore either one image or one pool")
    client = client_for(settings)
    outcomes: list[Outcome] = []
    async with AppAPI(settings, timeout=RESTORE_APP_TIMEOUT) as api:
        try:
            pool_map = await load_pool_map(settings, api)
            if image_uuid is not None:
                record = await api.backup_record(image_uuid)
                pages: AsyncIterator[list[BackupRecord]] = _single(record)
                pool = _pool(pool_map, record.pool_id, settings)
            else:
                assert pool_id is not None
                pool = _pool(pool_map, pool_id, settings)
                pages = _records(api, pool_id)
            limit = asyncio.Semaphore(PARALLEL)

            async def one(record: BackupRecord) -> Outcome:
                async with limit:
                    done = await asyncio.to_thread(
                        restore_file, client, pool, record, dry_run=dry_run
                    )
                report(done)
                return done

            async for page in pages:
                outcomes.extend(await asyncio.gather(*(one(r) for r in page)))
        except RestoreError:
            raise
        except Exception as exc:  # the app or the pool map could not answer
            raise RestoreError(f"{type(exc).__name__}: {exc}") from exc
    if remake_variants and not dry_run:
        brought_back = [o for o in outcomes if o.state in ("restored", "replaced")]
        await _remake_variants(settings, pool, brought_back)
    return outcomes


async def _single(record: BackupRecord) -> AsyncIterator[list[BackupRecord]]:
    yield [record]


async def _remake_variants(settings: StorageSettings, pool: PoolInfo, done: list[Outcome]) -> None:
    if not done:
        return
    keys = RedisKeys(settings.redis_prefix)
    redis = await connect(settings.redis_url, settings.ca_file)
    try:
        for outcome in done:
            args = jobs.ProcessImage(
                image_uuid=outcome.image_uuid,
                pool_id=pool.id,
                path=outcome.path,
                request_id=new_request_id(),
            )
            await enqueue(
                redis,
                args,
                queue=keys.node_background_queue(settings.node_id),
                job_id=keys.restore_job(settings.node_id, outcome.image_uuid),
            )
    finally:
        await redis.aclose()
