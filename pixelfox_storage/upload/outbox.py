"""Completions the app has not acknowledged yet, kept on the node's disk until it does.

One JSON file per upload under ``<state_dir>/outbox/<image_uuid>.json``,
written with fsync + rename *before* the file is linked into ``original/``
(write-ahead): every committed file has its record, whatever crashes when. The
upload request then reports to the app itself and removes the record when the
app accepts; otherwise the record stays and the client hears 202. A background
loop (:func:`pixelfox_storage.upload.background.drain_outbox`) delivers due
records with exponential backoff, and drops records whose file never got
committed.

Only a 2xx answer delivers a record (the app answers a repeated completion
with the same 2xx). A refusal with one of the app's error codes (a session
that expired while the app was away, a pool that is no longer this node's, …)
moves the record to ``outbox/quarantine/`` with the code, and the file out of
``original/`` into the pool's ``.quarantine/``: kept for an operator, logged at
error level, counted in ``pixelfox_outbox_quarantined_total``, and reported in
every heartbeat (``Heartbeat.quarantined_uploads``) so the admin can show it.
Anything else — no answer, 5xx, a 4xx without the app's error body (a proxy's)
— is tried again later (see :mod:`pixelfox_storage.appapi`).

A delivered record is not deleted but moved to ``outbox/journal/`` and kept for
``PIXELFOX_OUTBOX_JOURNAL_DAYS``: with the upload token the app signed for it, it
is what ``pixelfox scrub --adopt`` offers the app when a database restored from
an older backup has lost the image's row (see :mod:`pixelfox_storage.scrub.adopt`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from pydantic import ValidationError

from pixelfox_common import metrics
from pixelfox_common.durable import fsync_dir
from pixelfox_protocol.internal import QuarantinedUpload, UploadCompletion

log = logging.getLogger(__name__)

FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 300.0
# Under the node's state_dir.
OUTBOX_DIR = "outbox"
QUARANTINE_DIR = "quarantine"
JOURNAL_DIR = "journal"
# How often the drain loop prunes the journal (it lists the whole folder).
JOURNAL_PRUNE_EVERY_SECONDS = 3600.0
# The code of a record that could not be read at all (set aside beside the refused ones).
UNREADABLE = "UNREADABLE"


@dataclass
class OutboxEntry:
    completion: UploadCompletion
    request_id: str
    created: float
    attempts: int = 0
    next_attempt: float = 0.0
    last_error: str = ""
    # The upload token the file came with: the app's signature over owner, pool and
    # image, checked again when the record is offered for adoption.
    token: str = ""

    def to_json(self) -> str:
        data = asdict(self)
        data["completion"] = self.completion.model_dump()
        return json.dumps(data, indent=1)

    @classmethod
    def from_json(cls, text: str | bytes) -> OutboxEntry:
        data = json.loads(text)
        data["completion"] = UploadCompletion.model_validate(data["completion"])
        return cls(**data)


def write_durable(path: Path, text: str) -> None:
    """Write ``path`` so that it is either absent or complete after a crash."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o640)
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)


class Outbox:
    """The node's durable queue of completions for the app."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.quarantine_dir = folder / QUARANTINE_DIR
        self.journal_dir = folder / JOURNAL_DIR
        self._pruned = 0.0

    def _path(self, image_uuid: str) -> Path:
        return self.folder / f"{image_uuid}.json"

    def put(
        self,
        completion: UploadCompletion,
        request_id: str,
        *,
        delay: float = FIRST_RETRY_SECONDS,
        attempts: int = 0,
        error: str = "",
        token: str = "",
    ) -> Path:
        """Record (or re-record) a completion durably, due in ``delay`` seconds. Blocking."""
        self.folder.mkdir(parents=True, exist_ok=True)
        now = time.time()
        entry = OutboxEntry(
            completion=completion,
            request_id=request_id,
            created=now,
            attempts=attempts,
            next_attempt=now + delay,
            last_error=error,
            token=token,
        )
        path = self._path(completion.image_uuid)
        write_durable(path, entry.to_json())
        return path

    def entries(self) -> list[tuple[Path, OutboxEntry]]:
        """Every pending entry, oldest first; unreadable files are set aside."""
        found: list[tuple[Path, OutboxEntry]] = []
        try:
            paths = sorted(self.folder.glob("*.json"))
        except OSError:
            return found
        for path in paths:
            try:
                found.append((path, OutboxEntry.from_json(path.read_bytes())))
            except FileNotFoundError:
                continue
            except (OSError, ValueError, KeyError, TypeError, ValidationError) as exc:
                log.error("outbox entry %s is unreadable (%s); set aside", path.name, exc)
                self._set_aside(path, f"unreadable: {exc}")
        found.sort(key=lambda item: item[1].created)
        return found

    def done(self, path: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()

    def delivered(self, path: Path) -> None:
        """The app took the record: keep it in the journal (see module docs). Blocking."""
        self.journal_dir.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(path, self.journal_dir / path.name)
        except FileNotFoundError:
            return
        fsync_dir(self.journal_dir)

    def journal(self, image_uuid: str) -> OutboxEntry | None:
        """The delivered record of an upload, if the journal still has it. Blocking."""
        try:
            return OutboxEntry.from_json((self.journal_dir / f"{image_uuid}.json").read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, ValidationError) as exc:
            log.error("journal entry of %s is unreadable (%s)", image_uuid, exc)
            return None

    def pending(self, image_uuid: str) -> bool:
        """Whether an upload's record still waits for delivery (or for its commit)."""
        return self._path(image_uuid).exists()

    def prune_journal(self, keep_seconds: float, *, now: float | None = None) -> int:
        """Drop journal records older than ``keep_seconds`` (at most hourly); how many."""
        now = time.time() if now is None else now
        if now - self._pruned < JOURNAL_PRUNE_EVERY_SECONDS:
            return 0
        self._pruned = now
        dropped = 0
        try:
            paths = list(self.journal_dir.glob("*.json"))
        except OSError:
            return 0
        for path in paths:
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < now - keep_seconds:
                    path.unlink()
                    dropped += 1
        return dropped

    def retry_later(self, path: Path, entry: OutboxEntry, error: str) -> float:
        """Back off exponentially; returns the delay chosen."""
        delay = min(MAX_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** min(entry.attempts, 20))
        entry.attempts += 1
        entry.next_attempt = time.time() + delay
        entry.last_error = error[:500]
        write_durable(path, entry.to_json())
        return delay

    def quarantine(self, path: Path, entry: OutboxEntry, code: str) -> None:
        """Keep a record the app refused (with its error code) out of delivery, for an operator."""
        entry.last_error = code[:500]
        self.quarantine_dir.mkdir(parents=True, exist_ok=True)
        write_durable(self.quarantine_dir / path.name, entry.to_json())
        self.done(path)
        metrics.OUTBOX_QUARANTINED.labels(code).inc()
        metrics.OUTBOX_IN_QUARANTINE.inc()

    def quarantined(self, newest: int = 10) -> tuple[int, list[QuarantinedUpload]]:
        """How many records are in quarantine, and the ``newest`` of them. Blocking."""
        try:
            found = [p for p in self.quarantine_dir.iterdir() if p.suffix in (".json", ".broken")]
        except FileNotFoundError:
            found = []
        metrics.OUTBOX_IN_QUARANTINE.set(len(found))
        latest: list[QuarantinedUpload] = []
        for path in sorted(found, key=_mtime, reverse=True)[:newest]:
            latest.append(_described(path))
        return len(found), latest

    def _set_aside(self, path: Path, reason: str) -> None:
        self.quarantine_dir.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            os.replace(path, self.quarantine_dir / f"{path.name}.broken")
            (self.quarantine_dir / f"{path.name}.reason").write_text(reason)
            metrics.OUTBOX_QUARANTINED.labels(UNREADABLE).inc()
            metrics.OUTBOX_IN_QUARANTINE.inc()


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _described(path: Path) -> QuarantinedUpload:
    image_uuid = path.name.split(".", 1)[0]
    if path.suffix == ".json":
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError, ValidationError):
            entry = OutboxEntry.from_json(path.read_bytes())
            return QuarantinedUpload(
                image_uuid=entry.completion.image_uuid,
                pool_id=entry.completion.pool_id,
                code=entry.last_error or "",
                since=_mtime(path),
            )
    return QuarantinedUpload(image_uuid=image_uuid, code=UNREADABLE, since=_mtime(path))
