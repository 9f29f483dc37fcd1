"""One upload on its way into a pool: its pending file, the checks while it fills, the commit.

The bytes go into an :class:`~.incoming.IncomingFile` as they come (or a file a
front server wrote already is adopted whole); the type is sniffed as soon as
the first 8 KiB are in; once the body is complete the image checker judges
the file, and it is fsynced and linked to ``original/YYYY/MM/DD/<uuid>.<ext>``.
Any failure, the caller's cancellation included, removes the pending file; a
cancellation during the commit undoes the commit.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import logging
import time
from collections.abc import AsyncIterable, AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from pixelfox_protocol import layout
from pixelfox_protocol.errors import APIError

from .. import imagecheck
from ..kept import KeptTasks
from .incoming import HEAD_BYTES, IncomingFile
from .limits import IngestLimits, too_large
from .result import BeforeCommit, IngestResult

log = logging.getLogger(__name__)

# Commits run as tasks of their own, held here until they end (see Upload.commit).
_COMMITS = KeptTasks()


class PendingFile(Protocol):
    """The file an upload's bytes wait in until they are judged and committed.

    An :class:`IncomingFile` the upload writes, or a body a front server wrote
    to disk already (the node's nginx spool), judged and linked in place.
    """

    @property
    def temp_path(self) -> Path:
        """What the image checker reads."""

    @property
    def size(self) -> int: ...

    @property
    def head(self) -> bytes:
        """The first bytes (up to 8 KiB), for sniffing the type."""

    @property
    def followed(self) -> bool:
        """Hashed by a follower while the front server wrote it."""

    async def flush(self) -> None: ...

    async def finish(self) -> str:
        """Everything written: the SHA-256 of the whole file."""

    async def commit(self, final: Path) -> Path:
        """fsync, link to ``final`` (FileExistsError if taken), fsync its directory."""

    def abort(self) -> None:
        """Remove what is ours of the file (synchronous: safe in a cancelled task)."""


class Chunks:
    """A body's chunks, cut off (INCOMPLETE_UPLOAD) when the client goes silent for too long."""

    def __init__(self, body: AsyncIterable[bytes], idle_timeout: float) -> None:
        self._it: AsyncIterator[bytes] = body.__aiter__()
        self._idle = idle_timeout

    def __aiter__(self) -> Chunks:
        return self

    async def __anext__(self) -> bytes:
        try:
            async with asyncio.timeout(self._idle):
                return await self._it.__anext__()
        except TimeoutError:
            raise APIError(
                "INCOMPLETE_UPLOAD", f"No data arrived for {self._idle:.0f} seconds."
            ) from None


class Upload:
    """One upload's pending file and the checks that run while it fills.

    A streamed body is written through :meth:`open` and :meth:`write` (which is
    also how a form's ``file`` part reaches it, see :class:`~.form.FormParser`);
    a body already on disk is taken whole by :meth:`adopt`.
    """

    def __init__(
        self, pool_base: Path, image_uuid: str, limits: IngestLimits, *, private: bool = False
    ) -> None:
        self.pool_base = pool_base
        self.image_uuid = image_uuid
        self.limits = limits
        # A private image's original goes to the pool's private subtree.
        self.private = private
        self.file: PendingFile | None = None
        self._incoming: IncomingFile | None = None  # the file we write, when we write one
        self.mime = ""
        self.filename = ""
        self.followed = False

    def open(self, filename: str) -> None:
        """Receive into a new incoming file; ``filename`` as the client sent it."""
        self._take_name(filename)
        self.file = self._incoming = IncomingFile(self.pool_base, self.image_uuid)

    def adopt(self, filename: str, written: PendingFile) -> None:
        """Take a file that is whole on disk already (judged, then linked in place)."""
        self._take_name(filename)
        if written.size > self.limits.max_size:
            raise too_large(self.limits)
        self.file = written

    def _take_name(self, filename: str) -> None:
        self.filename = imagecheck.clean_filename(filename)
        imagecheck.check_extension(self.filename, self.limits.allowed_types)

    def write(self, data: bytes | memoryview) -> None:
        incoming = self._incoming
        assert incoming is not None  # a streamed body; an adopted file is whole already
        if incoming.size + len(data) > self.limits.max_size:
            raise too_large(self.limits)
        incoming.write(data)

    async def after_chunk(self, *, complete: bool = False) -> None:
        """Sniff once the head is in, and hand what came to the writer thread."""
        pending = self.file
        if pending is None:
            return
        if not self.mime and (complete or pending.size >= HEAD_BYTES):
            self.mime = imagecheck.sniff(pending.head, self.limits.allowed_types)
        try:
            await pending.flush()
        except OSError as exc:
            raise _disk_error(exc) from exc

    async def commit(
        self, when: datetime | None, before_commit: BeforeCommit | None
    ) -> IngestResult:
        """Judge and commit, shielded: a client leaving mid-commit cannot half-commit.

        From here on the task owns the pending file (a failure inside aborts it);
        when the caller is cancelled, the task runs to its end and its file is removed.
        """
        task = _COMMITS.keep(self._finalize(when, before_commit), f"commit-{self.image_uuid}")
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            task.add_done_callback(self._undo)
            raise

    def _undo(self, task: asyncio.Task[IngestResult]) -> None:
        # The caller is gone, so nobody will acknowledge this file: remove it.
        self.abort()
        if task.cancelled() or task.exception() is not None:
            return
        task.result().full_path.unlink(missing_ok=True)

    async def _finalize(
        self, when: datetime | None, before_commit: BeforeCommit | None
    ) -> IngestResult:
        try:
            return await self._judge_and_link(when, before_commit)
        except BaseException:
            self.abort()
            raise

    async def _judge_and_link(
        self, when: datetime | None, before_commit: BeforeCommit | None
    ) -> IngestResult:
        pending = self.file
        assert pending is not None
        try:
            sha256 = await pending.finish()
        except OSError as exc:
            raise _disk_error(exc) from exc
        if not self.mime:
            self.mime = imagecheck.sniff(pending.head, self.limits.allowed_types)
        checking = time.perf_counter()
        info = await asyncio.to_thread(
            imagecheck.inspect,
            pending.temp_path,
            self.mime,
            self.limits,
            verify_decode=self.limits.verify_decode,
        )
        if info.mime not in self.limits.allowed_types:
            # The sniffed brand said AVIF, the decoder found HEVC (HEIC), or the like.
            raise APIError("UNSUPPORTED_TYPE", details={"detected": info.mime})
        ext = layout.EXTENSIONS[info.mime]
        relative = layout.original_path(
            self.image_uuid, ext, when or datetime.now(UTC), private=self.private
        )
        committing = time.perf_counter()
        result = IngestResult(
            path=relative,
            full_path=self.pool_base / relative,
            size=pending.size,
            sha256=sha256,
            mime=info.mime,
            width=info.width,
            height=info.height,
            frames=info.frames,
            filename=self.filename,
            check_seconds=committing - checking,
            followed=self.followed or pending.followed,
        )
        if before_commit is not None:
            await before_commit(result)
        try:
            await pending.commit(result.full_path)
        except FileExistsError as exc:
            raise APIError("SESSION_INVALID", "An image with this id is stored already.") from exc
        except OSError as exc:
            raise _disk_error(exc) from exc
        return dataclasses.replace(result, commit_seconds=time.perf_counter() - committing)

    def abort(self) -> None:
        if self.file is not None:
            self.file.abort()


def _disk_error(exc: OSError) -> APIError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return APIError("STORAGE_FULL")
    log.error("pool write failed: %s", exc)
    return APIError("INTERNAL", "The file could not be written.")
