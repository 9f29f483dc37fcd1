"""A request body that a front server (nginx) already wrote to a file in the pool.

On storage hosts nginx receives an upload's body into ``<pool>/.spool/`` and
hands the node only the file's name (see ``pixelfox_storage.upload.spooled``).
:class:`BodyFile` is that file, opened once and judged by descriptor, with the
same face as :class:`pixelfox_common.spool.Spool`, so :mod:`.ingest` runs the
very same checks on it:

- a raw body *is* the image: it is hashed in place (mmap) and committed by a
  hard link of the very inode that was checked — no copy;
- a multipart body is read back in large chunks (:meth:`BodyFile.chunks`) and
  its ``file`` part streams into an ordinary spool, as from a socket.

The front server owns the file's name and deletes it when the request ends
(nginx ``client_body_in_file_only clean``); this class never unlinks it.

When something read the file while it was being written (a spool follower,
``pixelfox_storage.upload.follower``), :attr:`BodyFile.follow` offers that
work: the raw body's SHA-256, or the multipart parse with its part already
copied out. Whatever it cannot offer is done here as above.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import hashlib
import mmap
import os
import stat
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from .durable import fsync_dir, makedirs_durable
from .spool import HEAD_BYTES

if TYPE_CHECKING:
    from .followedform import FollowedForm

T = TypeVar("T")

# Read size of a spooled multipart body: large reads, few thread hops.
READ_BYTES = 4 * 1024 * 1024


class NotABodyFile(ValueError):
    """The named file is not a plain, single-linked regular file."""


class Followed(Protocol):
    """What a follower did with a body file while it was written; None: not done, do it."""

    async def sha256(self, size: int) -> str | None:
        """The SHA-256 of the file's ``size`` bytes, read as a raw body."""

    async def form(self, size: int, boundary: bytes) -> FollowedForm | None:
        """The file's ``size`` bytes parsed as multipart with ``boundary``; the caller owns it."""


class BodyFile:
    """One spooled request body, held open by descriptor from check to commit."""

    def __init__(self, path: Path) -> None:
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
        try:
            fd = os.open(path, flags)
        except OSError as exc:  # ELOOP: a symlink; ENOENT: gone
            raise NotABodyFile(f"cannot open {path}: {exc.strerror}") from exc
        info = os.fstat(fd)
        # A second name would mean someone else holds (or planted) this inode.
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            os.close(fd)
            raise NotABodyFile(f"{path} is not a plain regular file")
        self.path = path
        self.temp_path = path  # what the image check reads (Spool's name for it)
        self.device = info.st_dev
        self.inode = info.st_ino
        self.size = info.st_size
        self.head = os.pread(fd, HEAD_BYTES, 0)
        # The pool it is committed into (set by ingest).
        self.pool_base: Path | None = None
        self.follow: Followed | None = None
        self.followed = False  # the SHA-256 came from the follower
        self._fd: int | None = fd
        # Thread calls using the descriptor; close() waits for them (see _run).
        self._users = 0
        self._closing = False

    def close(self) -> None:
        """Close the descriptor, or once the last thread call using it has returned.

        The request may end (client gone) while ingest's shielded commit still
        runs on this file: its descriptor must not be closed, and its number
        reused, under that commit's feet.
        """
        self._closing = True
        if self._users == 0:
            fd, self._fd = self._fd, None
            if fd is not None:
                os.close(fd)

    async def _run(self, call: Callable[[int], T]) -> T:
        fd = self._fd
        if fd is None or self._closing:
            raise OSError(errno.EBADF, "the body file is closed")
        self._users += 1
        try:
            return await asyncio.to_thread(call, fd)
        finally:
            self._users -= 1
            if self._closing:
                self.close()

    def __enter__(self) -> BodyFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def chunks(self) -> AsyncIterator[bytes]:
        """The file's bytes, front to back, read in a worker thread."""
        offset = 0
        while offset < self.size:
            data = await self._run(functools.partial(_read_at, offset=offset))
            if not data:
                return
            offset += len(data)
            yield data

    async def followed_form(self, boundary: bytes) -> FollowedForm | None:
        """The follower's multipart parse of this file, if it made one with ``boundary``."""
        return None if self.follow is None else await self.follow.form(self.size, boundary)

    # -- the Spool face, for ingest ------------------------------------------------

    async def flush(self, *, force: bool = False) -> None:
        """Nothing to write: the bytes are on disk already."""

    async def finish(self) -> str:
        """The SHA-256 of the whole file (the follower's, or mapped and hashed in a worker thread).

        The file is complete already, so its flush to disk (I/O) runs beside the
        hash (CPU) instead of after it; the commit's own fsync then finds
        little left to write.
        """
        digest, _ = await asyncio.gather(self._digest(), self._run(os.fsync))
        return digest

    async def _digest(self) -> str:
        known = None if self.follow is None else await self.follow.sha256(self.size)
        if known is not None:
            self.followed = True
            return known
        return await self._run(self._sha256)

    def _sha256(self, fd: int) -> str:
        if self.size == 0:
            return hashlib.sha256().hexdigest()
        with mmap.mmap(fd, self.size, access=mmap.ACCESS_READ) as mapped:
            mapped.madvise(mmap.MADV_SEQUENTIAL)
            return hashlib.sha256(mapped).hexdigest()

    async def commit(self, relative_path: str) -> Path:
        """fsync, then hard-link this inode to ``relative_path`` (never over a file), fsync dir."""
        return await self._run(lambda fd: self._commit(fd, relative_path))

    def _commit(self, fd: int, relative_path: str) -> Path:
        assert self.pool_base is not None
        # nginx writes its files owner-only; a committed original is group-readable
        # like every other (Spool's mode).
        os.fchmod(fd, 0o640)
        os.fsync(fd)
        final = self.pool_base / relative_path
        makedirs_durable(final.parent)
        _link_descriptor(fd, final)
        try:
            fsync_dir(final.parent)
        except OSError:
            final.unlink(missing_ok=True)
            raise
        return final

    def abort(self) -> None:
        """Nothing of ours to remove: the front server deletes its own name."""


def _read_at(fd: int, *, offset: int) -> bytes:
    return os.pread(fd, READ_BYTES, offset)


def _link_descriptor(fd: int, target: Path) -> None:
    """Give the open file ``fd`` the name ``target``: exactly the inode that was checked.

    linkat(AT_SYMLINK_FOLLOW) of /proc/self/fd/<fd>; Python calls plain link()
    (which would not follow the /proc link) unless a directory fd is given.
    """
    proc_fds = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.link(str(fd), target, src_dir_fd=proc_fds, follow_symlinks=True)
    finally:
        os.close(proc_fds)
