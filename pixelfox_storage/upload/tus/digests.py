"""The SHA-256 of a whole resumable upload, computed once across all its PATCHes.

hashlib's state cannot be saved (its objects do not pickle, and OpenSSL keeps
the state opaque), so it lives in memory between the PATCHes this process
serves, keyed by upload and the offset it covers. After a restart — or when
another process wrote the upload meanwhile — the on-disk prefix is hashed
again, once, and the running hash goes on from there. Re-hashing costs what
reading the prefix costs (``bench/tus_ingest.py`` measures it: 0.2 to 0.4 s for
200 MB on this 2-core machine, 550 to 1300 MB/s), so a restart costs one such
read per upload it cut; persisting the state would need a SHA-256 of our own
in Python, hundreds of times slower on every byte of every upload.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import mmap
import time

log = logging.getLogger(__name__)


class Digests:
    """The running SHA-256 of each upload this process wrote, with the offset it covers."""

    def __init__(self) -> None:
        self._known: dict[str, tuple[int, hashlib._Hash]] = {}

    async def at(self, upload_id: str, fd: int, offset: int) -> hashlib._Hash:
        """The hash of the upload's first ``offset`` bytes (taken: give it back with ``keep``)."""
        known = self._known.pop(upload_id, None)
        if known is not None and known[0] == offset:
            return known[1]
        started = time.perf_counter()
        hasher = await asyncio.to_thread(prefix_sha256, fd, offset)
        log.info(
            "resumable upload re-hashed on resume",
            extra={
                "upload_id": upload_id,
                "bytes": offset,
                "seconds": round(time.perf_counter() - started, 3),
            },
        )
        return hasher

    def keep(self, upload_id: str, offset: int, hasher: hashlib._Hash) -> None:
        self._known[upload_id] = (offset, hasher)

    def forget(self, upload_id: str) -> None:
        self._known.pop(upload_id, None)


def prefix_sha256(fd: int, size: int) -> hashlib._Hash:
    """A running SHA-256 of the first ``size`` bytes of ``fd`` (mapped, not copied)."""
    hasher = hashlib.sha256()
    if size == 0:
        return hasher
    with mmap.mmap(fd, size, access=mmap.ACCESS_READ) as mapped:
        mapped.madvise(mmap.MADV_SEQUENTIAL)
        hasher.update(mapped)
    return hasher
