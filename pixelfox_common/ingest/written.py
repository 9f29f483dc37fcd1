"""What ingest needs of a body that a front server wrote to disk before handing it over.

On a storage host nginx receives an upload's body into a file in the pool and
gives the node only its name (``pixelfox_storage.upload.spooled`` has that
machinery). Ingest runs the very same checks on it as on a streamed body:

- a raw body *is* the image: it is judged and committed in place (a link of
  the very file that was checked) when it sits on the pool's filesystem, else
  streamed over from :meth:`WrittenBody.chunks`;
- a multipart body is parsed from :meth:`WrittenBody.chunks`, unless a follower
  parsed it while it was written: then its copied-out part
  (:meth:`WrittenBody.followed_part`) is taken, if it passes every check.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol, runtime_checkable

from .upload import PendingFile


class FollowedPart(Protocol):
    """A form's file part, copied out by a follower while the front server wrote the body."""

    @property
    def file(self) -> PendingFile:
        """The copy, in the pool's ``.incoming/``."""

    @property
    def filename(self) -> str:
        """The part's file name as the client sent it."""

    def discard(self) -> None:
        """Remove the copy (ingest does, when it does not take it)."""


@runtime_checkable
class WrittenBody(PendingFile, Protocol):
    """A whole request body in a file; the caller keeps it open while ingest runs."""

    @property
    def device(self) -> int:
        """``st_dev`` of the file: a link into a pool needs the same filesystem."""

    def chunks(self) -> AsyncIterator[bytes]:
        """The file's bytes, front to back."""

    async def followed_part(self, boundary: bytes, pool_base: Path) -> FollowedPart | None:
        """The complete followed parse of this body as a form with ``boundary``, its part in
        ``pool_base``; None when there is none (the caller then parses the body itself)."""
