"""One writer per upload: a lock that a newer request takes from a stuck one, as tusd does.

A client whose connection died mid-PATCH comes back with a HEAD while the
node may still be waiting for the old request's bytes (a half-open TCP
connection sends no FIN). The newcomer asks the holder to give up: the holder
stops reading, keeps what arrived (fdatasync) and lets go, and the newcomer
proceeds, within ``wait`` seconds or TUS_UPLOAD_LOCKED (423; clients retry).

Within the process the lock is a registry of holders; across processes (a
restarted service whose old process still finishes requests) an ``flock`` on
the upload's data file, never waited for.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os

from pixelfox_protocol.errors import APIError

from .state import UploadFiles

# How long a newcomer waits for the holder to let go (a commit at the last byte
# may hold the lock this long: it judges and fsyncs the whole file).
WAIT_SECONDS = 10.0


class Holder:
    """The request (or commit) that holds an upload; ``fd`` is its data file, open for writing."""

    def __init__(self, upload_id: str, fd: int) -> None:
        self.upload_id = upload_id
        self.fd = fd
        # Set when another request wants the upload: stop reading, save, let go.
        self.asked = asyncio.Event()
        self.released = asyncio.Event()


class UploadLocks:
    """The holders of this process's uploads."""

    def __init__(self) -> None:
        self._held: dict[str, Holder] = {}

    def busy(self, upload_id: str) -> bool:
        return upload_id in self._held

    async def acquire(self, files: UploadFiles, *, wait: float = WAIT_SECONDS) -> Holder | None:
        """The lock of upload ``files``; None when it has no data file (finished or gone)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while (other := self._held.get(files.id)) is not None:
            other.asked.set()
            try:
                async with asyncio.timeout(max(0.0, deadline - loop.time())):
                    await other.released.wait()
            except TimeoutError:
                raise APIError("TUS_UPLOAD_LOCKED", headers={"Retry-After": "1"}) from None
        try:
            fd = os.open(files.data, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise APIError("TUS_UPLOAD_LOCKED", headers={"Retry-After": "1"}) from None
        if os.fstat(fd).st_nlink == 0:
            # Removed (terminated, expired, committed) by the holder we waited for.
            os.close(fd)
            return None
        holder = Holder(files.id, fd)
        self._held[files.id] = holder
        return holder

    def release(self, holder: Holder) -> None:
        if self._held.get(holder.upload_id) is holder:
            del self._held[holder.upload_id]
        with contextlib.suppress(OSError):
            os.close(holder.fd)  # and with it the flock
        holder.released.set()
