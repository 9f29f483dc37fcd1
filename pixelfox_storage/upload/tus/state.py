"""A resumable upload on disk, in its pool's ``.incoming/tus/``: nothing of it lives in memory.

Per upload (``<id>`` = 32 hex digits derived from its token):

- ``<id>.data`` — the bytes so far. **The offset is this file's size**: bytes
  are only ever appended, exactly as they came (a checksummed chunk is
  appended only once it matched), and fdatasync'd before an answer reports
  them, so after a crash or ``kill -9`` the size is the upload's true offset.
  Its full ``Upload-Length`` is allocated at creation (``fallocate`` keeping
  the size), so a live upload counts against the pool's free space and its
  reserve — for every later upload's space check and the heartbeat alike —
  and cannot run out of disk half-way;
- ``<id>.info`` — what the upload is (JSON, written durably): its length,
  expiry, the token's digest and claims, the file's name and type; and, once
  committed, the answer it got (kept until the expiry, so a client whose last
  answer was lost still learns it);
- ``<id>.chunk`` — a checksummed chunk while it arrives (discarded on a mismatch).

The folder is below ``.incoming/`` (never served) but is no ``.part`` file, so
the sweep of cut-off single uploads leaves it alone; :mod:`.expiry` sweeps it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pixelfox_common.durable import fsync_dir, makedirs_durable
from pixelfox_common.ingest.incoming import incoming_dir
from pixelfox_protocol.tokens import UploadClaims

from ..outbox import write_durable
from . import disk

log = logging.getLogger(__name__)

TUS_DIR = "tus"
ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")


def tus_dir(pool_base: Path) -> Path:
    return incoming_dir(pool_base) / TUS_DIR


def upload_id(token: str) -> str:
    """The upload a token creates: the same token always names the same upload.

    So a creation whose answer was lost can be sent again, and a guessed id
    is worth nothing without the token itself (every request needs it).
    """
    return hashlib.sha256(b"pixelfox-tus-upload\0" + token.encode()).hexdigest()[:32]


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class UploadInfo:
    """What a resumable upload is; its offset is not here (see the module docs)."""

    id: str
    pool_id: int
    length: int
    created: float
    expires: float
    token_sha256: str
    # The value this upload holds its token's single-use key with (see token_check).
    hold: str
    claims: dict[str, Any]
    filename: str = ""
    filetype: str = ""
    # Upload-Metadata as the client sent it, echoed by HEAD.
    metadata: str = ""
    # Once committed: {"status": 201|202, "body": {...}}, the final PATCH's answer.
    finished: dict[str, Any] | None = field(default=None)

    def upload_claims(self) -> UploadClaims:
        return UploadClaims(**self.claims)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> UploadInfo:
        return cls(**json.loads(text))


@dataclass(frozen=True)
class UploadFiles:
    """The files of upload ``id`` in ``folder`` (a pool's ``.incoming/tus/``)."""

    folder: Path
    id: str

    @property
    def info(self) -> Path:
        return self.folder / f"{self.id}.info"

    @property
    def data(self) -> Path:
        return self.folder / f"{self.id}.data"

    @property
    def chunk(self) -> Path:
        return self.folder / f"{self.id}.chunk"

    def load(self) -> UploadInfo | None:
        try:
            return UploadInfo.from_json(self.info.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError) as exc:
            log.error("resumable upload %s has an unreadable record: %s", self.id, exc)
            return None

    def save(self, info: UploadInfo) -> None:
        """Blocking; durable (fsync and rename)."""
        write_durable(self.info, info.to_json())

    def create(self, info: UploadInfo) -> None:
        """Blocking: the data file with the upload's whole length allocated, then the record.

        STORAGE_FULL when the disk cannot give the length. A crash between the two
        leaves a data file without a record, which the sweep takes.
        """
        makedirs_durable(self.folder)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
        fd = os.open(self.data, flags, 0o640)
        try:
            disk.allocate(fd, info.length)
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            self.data.unlink(missing_ok=True)
            raise
        os.close(fd)
        fsync_dir(self.folder)
        self.save(info)

    def finish(self, info: UploadInfo, answer: dict[str, Any]) -> None:
        """Blocking: record the committed upload's answer, then drop our name of its bytes."""
        info.finished = answer
        self.save(info)
        self.data.unlink(missing_ok=True)
        self.chunk.unlink(missing_ok=True)

    def remove(self) -> None:
        """Blocking: the record first (the upload is gone), then its bytes."""
        for path in (self.info, self.data, self.chunk):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def each_upload(folder: Path) -> Iterator[tuple[UploadFiles, os.stat_result]]:
    """Every upload id with a file in ``folder``, with the newest stat among its files."""
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return
    newest: dict[str, os.stat_result] = {}
    for entry in entries:
        stem, _, suffix = entry.name.partition(".")
        if not ID_PATTERN.match(stem) or suffix not in ("info", "data", "chunk"):
            continue
        try:
            stat = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue
        known = newest.get(stem)
        if known is None or stat.st_mtime > known.st_mtime:
            newest[stem] = stat
    for stem, stat in newest.items():
        yield UploadFiles(folder, stem), stat
