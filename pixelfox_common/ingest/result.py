"""What an ingested upload became: a committed file and the facts the app records."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from pixelfox_protocol.internal import UploadCompletion


@dataclass(frozen=True)
class IngestResult:
    path: str
    full_path: Path
    size: int
    sha256: str
    mime: str
    width: int
    height: int
    frames: int
    filename: str
    # Where the time went: judging the bytes (sniff excluded: it is instant) and
    # committing them (before_commit, fsync of file and directory, link).
    check_seconds: float = 0.0
    commit_seconds: float = 0.0
    # Hashed (and, for a form, parsed) while the front server was still writing it.
    followed: bool = False

    def completion(
        self, *, session_id: str, image_uuid: str, pool_id: int, fallback_filename: str = ""
    ) -> UploadCompletion:
        """What the app records for this file (the node's report, the proxy's own record)."""
        return UploadCompletion(
            session_id=session_id,
            image_uuid=image_uuid,
            pool_id=pool_id,
            path=self.path,
            size=self.size,
            sha256=self.sha256,
            mime=self.mime,
            width=self.width,
            height=self.height,
            original_filename=self.filename or fallback_filename,
        )


# Called with the judged result just before the file is linked into place (e.g. to
# write a durable intent record); if it raises, nothing is committed.
BeforeCommit = Callable[[IngestResult], Awaitable[None]]
