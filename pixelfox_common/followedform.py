"""Ingest's multipart parse, run on a body while the front server is still writing it.

A spool follower (``pixelfox_storage.upload.follower``) feeds :class:`FollowedForm`
the bytes of an nginx spool file as they land, in a worker thread. The parse is
ingest's own (:class:`~pixelfox_common.ingest._Form`); the ``file`` part goes into
a :class:`PartFile` in ``<pool>/.incoming/``, hashed as it comes. No limit and no
check is applied here — no token is known yet: :func:`.ingest.ingest_multipart`
takes the result only if it is complete and passes them all.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser

from pixelfox_protocol.errors import APIError

from .bodyfile import BodyFile

# One parse for both paths: the form callbacks and the upload they fill are ingest's.
from .ingest import IngestLimits, _Form, _Upload
from .spool import HEAD_BYTES, Spool

# A copied part is flushed to disk each time this much was written.
PART_SYNC_BYTES = 16 * 1024 * 1024


class PartFile(Spool):
    """A :class:`Spool` filled synchronously by one thread, which hashes while a second writes.

    Hashing is the slow half; the writes, and a flush to disk every
    :data:`PART_SYNC_BYTES` (so the commit's fsync finds little left), run beside
    it. ``data`` must not change after :meth:`append` (bytes, or views of them).
    """

    def __init__(self, pool_base: Path, stem: str) -> None:
        super().__init__(pool_base, stem)
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="spool-follow-write")
        self._written: Future[None] | None = None
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
        if self._unsynced >= PART_SYNC_BYTES:
            os.fdatasync(fd)
            self._unsynced = 0


class _FollowedUpload(_Upload):
    """What :class:`_Form` fills while following: no limit and no check yet (no token known)."""

    def __init__(self, pool_base: Path) -> None:
        super().__init__(pool_base, "followed", IngestLimits(max_size=sys.maxsize))
        self.part: PartFile | None = None
        self.raw_filename = ""

    def open(self, filename: str, written: BodyFile | Spool | None = None) -> None:
        self.raw_filename = filename
        self.spool = self.part = PartFile(self.pool_base, self.image_uuid)

    def write(self, data: bytes | memoryview) -> None:
        assert self.part is not None
        self.part.append(data)


class FollowedForm:
    """The multipart parse of a body fed piece by piece as it is written, in a worker thread.

    Its ``field`` part goes into ``<pool>/.incoming/`` as it comes (a ``.part``
    file, swept like any other). :meth:`feed` raises ``ValueError`` (a malformed
    body, a second file part, …): the follower then gives up and the body is
    parsed at handover as usual. Whoever holds it last calls :meth:`discard`,
    unless :func:`ingest_multipart` took the part.
    """

    def __init__(self, boundary: bytes, pool_base: Path, field: str = "file") -> None:
        self.boundary = boundary
        self.upload = _FollowedUpload(pool_base)
        self._form = _Form(self.upload, field)
        try:
            self._parser = MultipartParser(boundary, self._form.callbacks())  # type: ignore[arg-type]
        except MultipartParseError as exc:
            raise ValueError(f"not a boundary: {exc}") from exc

    def feed(self, data: bytes) -> None:
        try:
            self._parser.write(data)
        except (MultipartParseError, APIError) as exc:
            raise ValueError(f"not followed: {exc}") from exc

    @property
    def complete(self) -> bool:
        """The body ended cleanly, with its file part."""
        return self._form.ended and self._form.file_done and self.upload.part is not None

    def settle(self) -> None:
        """Done feeding: the part's last write is on its way to disk (raises OSError)."""
        if self.upload.part is not None:
            self.upload.part.settle()

    def discard(self) -> None:
        self.upload.abort()
