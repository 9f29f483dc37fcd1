"""A request body that nginx already wrote to a file in the pool's nginx spool (``.spool/``).

On storage hosts nginx receives an upload's body into ``<pool>/.spool/`` and
hands the node only the file's name (see :mod:`.routes`). :class:`BodyFile` is
that file, opened once and judged by descriptor; it is what ingest calls a
:class:`~pixelfox_common.ingest.WrittenBody`, so ingest runs the very same
checks on it:

- a raw body *is* the image: it is hashed in place (mmap) and committed by a
  hard link of the very inode that was checked — no copy;
- a multipart body is read back in large chunks (:meth:`BodyFile.chunks`) and
  its ``file`` part streams into an ordinary incoming file, as from a socket.

nginx owns the file's name and deletes it when the request ends
(``client_body_in_file_only clean``); this class never unlinks it.

When the spool follower (:mod:`.follower`) read the file while it was being
written, :attr:`BodyFile.follow` offers that work: the raw body's SHA-256, or
the multipart parse with its part already copied out. Whatever it cannot offer
is done here as above.
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
from typing import Protocol, TypeVar

from pixelfox_common.durable import fsync_dir, makedirs_durable
from pixelfox_common.ingest.incoming import HEAD_BYTES, sweep_folder

from .followedform import FollowedForm

T = TypeVar("T")

# Inside each pool, on the pool's filesystem, so a body can be linked into place.
SPOOL_DIR = ".spool"

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


def spool_dir(pool_base: Path) -> Path:
    return pool_base / SPOOL_DIR


def sweep_spool(pool_base: Path, older_than_seconds: float) -> int:
    """Delete body files nginx left in ``<pool>/.spool/`` (a killed worker), untouched for long.

    nginx names them with digits only and writes as the body arrives, so the
    age of the last write tells a dead request from a slow one.
    """
    return sweep_folder(spool_dir(pool_base), older_than_seconds, str.isdigit)


class BodyFile:
    """One request body in the nginx spool, held open by descriptor from check to commit."""

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
        self.temp_path = path  # what the image check reads (IncomingFile's name for it)
        self.device = info.st_dev
        self.inode = info.st_ino
        self.size = info.st_size
        self.head = os.pread(fd, HEAD_BYTES, 0)
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

    async def followed_part(self, boundary: bytes, pool_base: Path) -> FollowedForm | None:
        """The follower's complete parse of this file with ``boundary``, its part in ``pool_base``.

        A parse that does not fit is discarded here: the caller parses the file itself.
        """
        form = None if self.follow is None else await self.follow.form(self.size, boundary)
        if form is None:
            return None
        if form.complete and form.pool_base == pool_base:
            return form
        form.discard()
        return None

    # -- the pending file's face, for ingest ---------------------------------------

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

    async def commit(self, final: Path) -> Path:
        """fsync, then hard-link this inode to ``final`` (never over a file), fsync its dir."""
        return await self._run(lambda fd: self._commit(fd, final))

    def _commit(self, fd: int, final: Path) -> Path:
        # nginx writes its files owner-only; a committed original is group-readable
        # like every other (IncomingFile's mode).
        os.fchmod(fd, 0o640)
        os.fsync(fd)
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
