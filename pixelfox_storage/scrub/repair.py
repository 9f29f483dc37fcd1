"""Healing what a scrub found: from the first source that has the file, or quarantine.

Sources (:class:`RepairSource`) are tried in order for each file; a source
verifies what it brings against the SHA-256 the app recorded before the file
goes to its place, or says why it cannot. What no source has is, for a
variant, made again from the (right) original. Today the list is the pool's
S3 backup (originals only): the order is *replica → S3 backup → re-make*
once a source for verified copies on other nodes exists; it goes at the front
of ``Scrubber.sources`` (``scrub.jobs.scrubber`` and ``scrub.cli``).

Files without a row (orphans, stray upload parts) and damaged variants are
never deleted here: they are moved to ``<pool>/.quarantine/`` (same relative
path), which nginx does not serve, listed by :func:`quarantined` and removed
only by the operator (:func:`remove_quarantined`). It is the folder the upload
outbox puts refused uploads in (by file name), so one command shows both.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pixelfox_common.durable import fsync_dir
from pixelfox_protocol import layout, links
from pixelfox_protocol.internal import BackupRecord, PoolImageFiles, PoolInfo, VariantReport

from ..backup.restore import restore_file
from ..processing import ImageLimits, VariantSpec

# One quarantine per pool: the outbox's refused uploads (flat) and the scrub's finds.
from ..upload.background import QUARANTINE_DIR
from .check import Fault


class RepairSource(Protocol):
    """Somewhere a lost or damaged file can come back from (each call runs in a thread)."""

    name: str

    def original(self, base: Path, pool: PoolInfo, item: PoolImageFiles) -> str | None:
        """Put the image's original back, verified; None when done, else why not."""
        ...

    def variant(self, base: Path, pool: PoolInfo, item: PoolImageFiles, path: str) -> str | None:
        """Put the variant at ``path`` back, verified against its row; None when done."""
        ...


@dataclass
class BackupSource:
    """The pool's S3 bucket (``pixelfox_storage.backup``): originals only."""

    client: Any
    name: str = "s3-backup"

    def original(self, base: Path, pool: PoolInfo, item: PoolImageFiles) -> str | None:
        if not pool.backup_bucket:
            return "the pool has no backup bucket"
        record = BackupRecord(
            image_uuid=item.image_uuid,
            pool_id=pool.id,
            path=item.original.path,
            sha256=item.original.sha256,
            size=item.original.size,
        )
        outcome = restore_file(self.client, pool, record, dry_run=False)
        if outcome.state in ("restored", "replaced", "present"):
            return None
        return f"{outcome.state}: {outcome.detail}" if outcome.detail else outcome.state

    def variant(self, base: Path, pool: PoolInfo, item: PoolImageFiles, path: str) -> str | None:
        return "the backup holds originals only"


def repair_original(
    sources: Sequence[RepairSource], base: Path, pool: PoolInfo, item: PoolImageFiles
) -> tuple[str, str]:
    """(source name, "") from the first source that brought the original back,
    else ("", every source's reason)."""
    reasons = []
    for source in sources:
        why = source.original(base, pool, item)
        if why is None:
            return source.name, ""
        reasons.append(f"{source.name}: {why}")
    return "", "; ".join(reasons) or "no source for originals"


def repair_variant(
    sources: Sequence[RepairSource], base: Path, pool: PoolInfo, item: PoolImageFiles, path: str
) -> str:
    """The name of the first source that brought the variant back, else "" (re-make it)."""
    for source in sources:
        if source.variant(base, pool, item, path) is None:
            return source.name
    return ""


def remake_variants(
    base: Path,
    item: PoolImageFiles,
    damaged: Sequence[Fault],
    specs: tuple[VariantSpec, ...],
    limits: ImageLimits,
) -> VariantReport:
    """Damaged variant files to quarantine, then every missing variant made again.

    ``make_variants`` keeps the variants that are in place (they are whole and
    right: the scrub found no fault in them) and encodes the rest; its report,
    with each file's SHA-256, goes to the app like a processing job's.
    """
    # Imported here: the node worker's lanes import this package for the scrub's cron.
    from ..node_worker.variants import make_variants

    for fault in damaged:
        full = links.resolve_file(base, fault.path)
        if full.exists():
            quarantine(base, fault.path)
    return make_variants(base, item.image_uuid, item.original.path, specs, limits)


def quarantine(base: Path, rel: str) -> str:
    """Move a pool file to ``.quarantine/<rel>`` (a numbered name if taken); its new path."""
    source = base / rel
    target = base / QUARANTINE_DIR / rel
    n = 0
    while target.exists():
        n += 1
        target = base / QUARANTINE_DIR / f"{rel}.{n}"
    target.parent.mkdir(parents=True, exist_ok=True)
    os.rename(source, target)
    fsync_dir(target.parent)
    fsync_dir(source.parent)
    return target.relative_to(base).as_posix()


@dataclass(frozen=True)
class Quarantined:
    path: str  # relative to the pool's quarantine folder: where the file was
    size: int
    since: float  # Unix time it was moved there (its ctime)


def quarantined(base: Path) -> list[Quarantined]:
    """What sits in a pool's quarantine, oldest first."""
    top = base / QUARANTINE_DIR
    found = []
    for folder, _, names in os.walk(top):
        for name in names:
            full = Path(folder, name)
            st = full.stat()
            found.append(Quarantined(full.relative_to(top).as_posix(), st.st_size, st.st_ctime))
    return sorted(found, key=lambda q: (q.since, q.path))


def remove_quarantined(
    base: Path, *, paths: Sequence[str] = (), older_than_seconds: float | None = None
) -> list[str]:
    """Delete files from the quarantine: the named ones, or all older than a cut-off.

    A named path must lie inside the quarantine (no ``..``): ``UnsafePath``.
    """
    top = (base / QUARANTINE_DIR).resolve()
    doomed: list[Path] = []
    for rel in paths:
        full = (top / rel).resolve()
        if not full.is_relative_to(top) or full == top or ".." in Path(rel).parts:
            raise layout.UnsafePath(rel)
        if full.is_file():
            doomed.append(full)
    if older_than_seconds is not None:
        cutoff = time.time() - older_than_seconds
        doomed += [top / q.path for q in quarantined(base) if q.since <= cutoff]
    removed = []
    for full in dict.fromkeys(doomed):
        full.unlink(missing_ok=True)
        removed.append(full.relative_to(top).as_posix())
    return removed
