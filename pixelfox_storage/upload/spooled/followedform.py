"""Ingest's multipart parse, run on a body while nginx is still writing it to the spool.

The spool follower (:mod:`.follower`) feeds :class:`FollowedForm` the bytes of
an nginx spool file as they land, in a worker thread. The parse is ingest's own
(:class:`~pixelfox_common.ingest.FormParser`); the ``file`` part goes into a
:class:`~pixelfox_common.ingest.BlockingIncomingFile` in ``<pool>/.incoming/``,
hashed as it comes. No limit and no check is applied here — no token is known
yet: :func:`pixelfox_common.ingest.ingest_multipart` takes the part only if the
parse is complete and the part passes them all.
"""

from __future__ import annotations

from pathlib import Path

from pixelfox_common.ingest import BlockingIncomingFile, FormParser
from pixelfox_protocol.errors import APIError

# A copied part is flushed to disk each time this much was written.
PART_SYNC_BYTES = 16 * 1024 * 1024


class FollowedForm:
    """The multipart parse of a body fed piece by piece as it is written, in a worker thread.

    Its ``field`` part goes into ``<pool>/.incoming/`` as it comes (a ``.part``
    file, swept like any other). :meth:`feed` raises ``ValueError`` (a malformed
    body, a second file part, …): the follower then gives up and the body is
    parsed at handover as usual. Whoever holds it last calls :meth:`discard`,
    unless ingest took the part.
    """

    def __init__(self, boundary: bytes, pool_base: Path, field: str = "file") -> None:
        self.boundary = boundary
        self.pool_base = pool_base
        self.part: BlockingIncomingFile | None = None
        self.filename = ""
        try:
            self._form = FormParser(boundary, self, field)
        except APIError as exc:
            raise ValueError(f"not a boundary: {exc}") from exc

    # -- the parse's part sink ------------------------------------------------------

    def open(self, filename: str) -> None:
        self.filename = filename  # judged by ingest at handover, as sent
        self.part = BlockingIncomingFile(
            self.pool_base,
            "followed",
            sync_bytes=PART_SYNC_BYTES,
            thread_name="spool-follow-write",
        )

    def write(self, data: bytes | memoryview) -> None:
        assert self.part is not None
        self.part.append(data)

    # -- the follower's side ----------------------------------------------------------

    def feed(self, data: bytes) -> None:
        try:
            self._form.feed(data)
        except APIError as exc:
            raise ValueError(f"not followed: {exc}") from exc

    @property
    def complete(self) -> bool:
        """The body ended cleanly, with its file part."""
        return self._form.complete and self.part is not None

    def settle(self) -> None:
        """Done feeding: the part's last write is on its way to disk (raises OSError)."""
        if self.part is not None:
            self.part.settle()

    # -- ingest's side (a FollowedPart) ---------------------------------------------

    @property
    def file(self) -> BlockingIncomingFile:
        assert self.part is not None  # handed over only when complete
        return self.part

    def discard(self) -> None:
        if self.part is not None:
            self.part.abort()
