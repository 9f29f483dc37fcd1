"""Sweeping resumable uploads: the unfinished ones whose time is up, and what crashes left.

Runs with the node's other upload chores (every ``upload_sweep_seconds``).
An expired upload goes with its bytes (and the space they held) and gives
its token back; a committed upload's record goes at the same time. Files
without a record (a creation that crashed) and a ``.chunk`` no request
writes any more go once they are older than ``upload_temp_max_age``. An
upload whose lock is held is left for the next round.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path

from pixelfox_protocol.errors import APIError

from .state import UploadFiles, each_upload, tus_dir
from .uploads import TusUploads

log = logging.getLogger(__name__)


async def sweep(tus: TusUploads) -> float:
    """One round over every pool; returns the interval to the next."""
    settings = tus.node.settings
    now = time.time()
    for pool in tus.node.known_pools():
        removed = 0
        folder = tus_dir(Path(pool.base_path))
        found = await asyncio.to_thread(lambda: list(each_upload(folder)))  # noqa: B023
        for files, newest in found:
            stale = now - newest.st_mtime > settings.upload_temp_max_age
            removed += await _sweep_one(tus, files, stale, now)
        if removed:
            log.info("swept %d resumable upload(s) in pool %s", removed, pool.id)
    return float(settings.upload_sweep_seconds)


async def _sweep_one(tus: TusUploads, files: UploadFiles, stale: bool, now: float) -> int:
    if tus.locks.busy(files.id) or files.id in tus.creating:
        return 0
    info = await asyncio.to_thread(files.load)
    if info is None:
        if not stale:
            return 0
        await asyncio.to_thread(files.remove)
        return 1
    if not tus.expired(info, now):
        if stale and info.finished is None:
            with contextlib.suppress(FileNotFoundError):
                await asyncio.to_thread(files.chunk.unlink)
        return 0
    try:
        holder = await tus.locks.acquire(files, wait=0)
    except APIError:
        return 0  # written by another process right now
    try:
        await tus.discard(files, info)
    finally:
        if holder is not None:
            tus.locks.release(holder)
    log.info("resumable upload %s expired", files.id, extra={"upload_id": files.id})
    return 1
