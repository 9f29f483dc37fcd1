"""An upload's incoming file: a temporary file inside a pool that hashes and counts what it gets.

The file lives in ``<pool>/.incoming/`` — the same filesystem as its final
place, so committing it is a link, never a copy — and is never visible under
``original/`` until :meth:`IncomingFile.commit`. Writing and hashing run in a
worker thread (``hashlib`` and ``os.write`` release the GIL) while the event
loop keeps receiving: at most one buffer is in flight and one is filling, so
the memory an upload holds stays bounded whatever the body's size.

(A storage host's nginx writes bodies into ``<pool>/.spool/``, its own
folder: that is the *nginx spool*, see ``pixelfox_storage.upload.spooled``.)
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from ..durable import fsync_dir, makedirs_durable

INCOMING_DIR = ".incoming"
TEMP_SUFFIX = ".part"
# Hand a buffer to the writer thread once it holds this much: large enough that
# the thread hop is noise, small enough that memory stays flat.
FLUSH_BYTES = 1024 * 1024
# ... or once the oldest queued byte waited this long (slow clients).
FLUSH_SECONDS = 1.0
# The first bytes are kept apart for sniffing the type.
HEAD_BYTES = 8192
# Chunks per writev call (IOV_MAX is 1024 on Linux).
_IOV_BATCH = 512


def incoming_dir(pool_base: Path) -> Path:
    return pool_base / INCOMING_DIR


class IncomingFile:
    """Write, hash and count one upload; then commit it into place or abort it."""

    # Hashed by someone else while written: never, for a file of our own.
    followed = False

    def __init__(self, pool_base: Path, stem: str) -> None:
        folder = incoming_dir(pool_base)
        folder.mkdir(mode=0o750, parents=True, exist_ok=True)
        self.temp_path = folder / f"{stem}.{secrets.token_hex(4)}{TEMP_SUFFIX}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
        self._fd: int | None = os.open(self.temp_path, flags, 0o640)
        self._hash = hashlib.sha256()
        # Chunks as they came (no joining copy); the thread hashes and writev()s them.
        self._pending: list[bytes | memoryview] = []
        self._pending_bytes = 0
        self._flushed_at = time.monotonic()
        self._inflight: asyncio.Future[None] | None = None
        self.size = 0
        self.head = b""

    def write(self, data: bytes | memoryview) -> None:
        """Queue bytes for the file (synchronous: callable from parser callbacks).

        ``data`` is kept by reference until written: it must not change after.
        """
        if len(self.head) < HEAD_BYTES:
            self.head += bytes(data[: HEAD_BYTES - len(self.head)])
        self._pending.append(data)
        self._pending_bytes += len(data)
        self.size += len(data)

    async def flush(self, *, force: bool = False) -> None:
        """Hand the queued chunks to the writer thread once they are enough, or old enough.

        The time rule keeps a slow upload's file fresh on disk, so the sweeper
        (which goes by modification time) never takes a file still receiving.
        """
        if not self._pending:
            return
        now = time.monotonic()
        if (
            not force
            and self._pending_bytes < FLUSH_BYTES
            and now - self._flushed_at < FLUSH_SECONDS
        ):
            return
        self._flushed_at = now
        if self._inflight is not None:
            # Shielded: cancelling us must not detach the future from a thread
            # that is still writing to our descriptor (see abort).
            await asyncio.shield(self._inflight)
        chunks, self._pending, self._pending_bytes = self._pending, [], 0
        self._inflight = asyncio.get_running_loop().run_in_executor(None, self._write, chunks)

    async def finish(self) -> str:
        """Write everything still buffered; the SHA-256 of the whole file."""
        await self.flush(force=True)
        if self._inflight is not None:
            await asyncio.shield(self._inflight)
            self._inflight = None
        return self._hash.hexdigest()

    def _write(self, chunks: list[bytes | memoryview]) -> None:
        fd = self._fd
        assert fd is not None
        update = self._hash.update
        for chunk in chunks:
            update(chunk)
        for start in range(0, len(chunks), _IOV_BATCH):
            batch = chunks[start : start + _IOV_BATCH]
            written = os.writev(fd, batch)
            if written < sum(len(c) for c in batch):
                _write_rest(fd, batch, written)

    async def commit(self, final: Path) -> Path:
        """fsync, then link to ``final`` (never over an existing file), fsync its directory.

        Raises FileExistsError when the target exists; the temporary file is
        then still there for :meth:`abort`.
        """
        await self.finish()
        return await asyncio.to_thread(self._commit, final)

    def _commit(self, final: Path) -> Path:
        assert self._fd is not None
        os.fsync(self._fd)
        os.close(self._fd)
        self._fd = None
        makedirs_durable(final.parent)
        # A hard link publishes the complete file atomically and, unlike rename,
        # refuses to replace an existing one.
        os.link(self.temp_path, final)
        try:
            fsync_dir(final.parent)
        except OSError:
            # Not durable, so not committed: take the name back.
            final.unlink(missing_ok=True)
            raise
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.temp_path)
        return final

    def abort(self) -> None:
        """Remove the temporary file. Synchronous, so it is safe in a cancelled task.

        A buffer may still be in the writer thread; the descriptor is closed
        only after it returns, so the thread never writes to a reused fd.
        """
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.temp_path)
        fd, self._fd = self._fd, None
        if fd is None:
            return
        inflight, self._inflight = self._inflight, None
        if inflight is not None and not inflight.done():
            inflight.add_done_callback(lambda f: _close_after(f, fd))
        else:
            os.close(fd)


class BlockingIncomingFile(IncomingFile):
    """An :class:`IncomingFile` filled by blocking calls from one thread, which hashes as it goes.

    Hashing is the slow half; the writes, and a flush to disk every
    ``sync_bytes`` (so the commit's fsync finds little left), run beside it in a
    thread of their own. ``data`` must not change after :meth:`append` (bytes,
    or views of them). The node's nginx-spool follower fills one this way.
    """

    def __init__(
        self, pool_base: Path, stem: str, *, sync_bytes: int, thread_name: str = "incoming-write"
    ) -> None:
        super().__init__(pool_base, stem)
        self._writer = ThreadPoolExecutor(1, thread_name_prefix=thread_name)
        self._written: Future[None] | None = None
        self._sync_bytes = sync_bytes
        self._unsynced = 0

    def append(self, data: bytes | memoryview) -> None:
        if len(self.head) < HEAD_BYTES:
            self.head += bytes(data[: HEAD_BYTES - len(self.head)])
        self.size += len(data)
        self._hash.update(data)
        self._wait_written()
        self._written = self._writer.submit(self._store, data)

    def settle(self) -> None:
        """Wait for the last write; no more appends. Raises what a write raised (ENOSPC)."""
        try:
            self._wait_written()
        finally:
            self._writer.shutdown()

    def _wait_written(self) -> None:
        written, self._written = self._written, None
        if written is not None:
            written.result()

    def _store(self, data: bytes | memoryview) -> None:
        fd = self._fd
        assert fd is not None
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        self._unsynced += len(data)
        if self._unsynced >= self._sync_bytes:
            os.fdatasync(fd)
            self._unsynced = 0


def _write_rest(fd: int, batch: list[bytes | memoryview], done: int) -> None:
    # writev to a regular file writes everything unless the disk fills up; if it
    # stopped short, finish with plain writes (which raise ENOSPC properly).
    for chunk in batch:
        view = memoryview(chunk)
        if done >= len(view):
            done -= len(view)
            continue
        view, done = view[done:], 0
        while view:
            view = view[os.write(fd, view) :]


def _close_after(future: asyncio.Future[None], fd: int) -> None:
    if not future.cancelled():
        future.exception()  # retrieved: an aborted upload's write error is not news
    os.close(fd)


def sweep_incoming(pool_base: Path, older_than_seconds: float, *, now: float | None = None) -> int:
    """Delete temporary files of cut-off uploads untouched for ``older_than_seconds``.

    Age is measured from the last write, so a slow upload that is still
    receiving is never taken. Returns how many files were removed.
    """
    return sweep_folder(
        incoming_dir(pool_base),
        older_than_seconds,
        lambda name: name.endswith(TEMP_SUFFIX),
        now=now,
    )


def sweep_folder(
    folder: Path,
    older_than_seconds: float,
    is_temporary: Callable[[str], bool],
    *,
    now: float | None = None,
) -> int:
    """Delete the regular files of ``folder`` whose names pass ``is_temporary`` and are stale."""
    cutoff = (now if now is not None else time.time()) - older_than_seconds
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return 0
    for entry in entries:
        if not is_temporary(entry.name) or not entry.is_file(follow_symlinks=False):
            continue
        try:
            if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                os.unlink(entry.path)
                removed += 1
        except FileNotFoundError:
            continue
    return removed
