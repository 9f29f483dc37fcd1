"""One request's bytes going onto disk at a given position, hashed on the way.

The event loop queues what arrives; a worker thread hashes (``hashlib``
releases the GIL) and writes it, one buffer in flight while the next fills —
the same rhythm as a single upload's incoming file, but positional (it
continues a file instead of creating one) and feeding any number of hashes
(the whole file's SHA-256, and a chunk's own checksum).
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import logging
import os
import time

from pixelfox_common.ingest.incoming import FLUSH_BYTES, FLUSH_SECONDS
from pixelfox_protocol.errors import APIError

from . import disk

log = logging.getLogger(__name__)


class ChunkSink:
    """Writes bytes at ``start`` of ``fd`` onwards while feeding them to ``hashers``."""

    def __init__(self, fd: int, start: int, hashers: list[hashlib._Hash]) -> None:
        self._fd = fd
        self._next = start  # where the thread writes next
        self._hashers = hashers
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._flushed_at = time.monotonic()
        self._inflight: asyncio.Future[None] | None = None
        self.received = 0

    def add(self, data: bytes) -> None:
        """Queue bytes (kept by reference until written: they must not change)."""
        self._pending.append(data)
        self._pending_bytes += len(data)
        self.received += len(data)

    async def flush(self, *, force: bool = False) -> None:
        """Hand the queue to the thread once it is large enough or old enough."""
        if not self._pending:
            return
        now = time.monotonic()
        young = now - self._flushed_at < FLUSH_SECONDS
        if not force and self._pending_bytes < FLUSH_BYTES and young:
            return
        self._flushed_at = now
        await self._wait_inflight()
        chunks, self._pending, self._pending_bytes = self._pending, [], 0
        self._inflight = asyncio.get_running_loop().run_in_executor(None, self._write, chunks)

    async def settle(self) -> None:
        """Everything queued is written (shielded: the thread uses our descriptor)."""
        await self.flush(force=True)
        await self._wait_inflight()

    async def _wait_inflight(self) -> None:
        inflight, self._inflight = self._inflight, None
        if inflight is not None:
            try:
                await asyncio.shield(inflight)
            except asyncio.CancelledError:
                self._inflight = inflight  # still running: settle waits for it
                raise
            except OSError as exc:
                raise _disk_error(exc) from exc

    def _write(self, chunks: list[bytes]) -> None:
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        for hasher in self._hashers:
            hasher.update(data)
        start = self._next
        view = memoryview(data)
        while view:
            written = os.pwrite(self._fd, view, self._next)
            self._next += written
            view = view[written:]
        disk.start_writeback(self._fd, start, len(data))


def _disk_error(exc: OSError) -> APIError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return APIError("STORAGE_FULL")
    log.error("resumable upload write failed: %s", exc)
    return APIError("INTERNAL", "The chunk could not be written.")
