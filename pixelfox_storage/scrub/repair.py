"""Healing what a scrub found: from the first source that has the file, or quarantine.

Before it writes, a repair asks the app for the image's *repair plan*
(``AppAPI.repair_plan``): the files as recorded, the verified copies on other
nodes with a read grant each, and where the original's S3 backup lies. Sources
(:class:`RepairSource`) are then tried in order for each file: a verified copy
on another node (:class:`~.peer.CopySource`), then the S3 backup (originals
only, :class:`BackupSource`). A source verifies what it brings against the
SHA-256 the app recorded before the file goes to its place, or says why it
cannot. What no source has is, for a variant on the image's primary pool, made
again from the (right) original; a replica's variants are never re-made (new
bytes would not match the rows the primary's variants are recorded by).

Files without a row (orphans, stray upload parts) and damaged files are never
deleted here: they are moved to ``<pool>/.quarantine/`` (same relative path),
which nginx does not serve, listed by :func:`quarantined` and removed only by
the operator (:func:`remove_quarantined`). It is the folder the upload outbox
puts refused uploads in (by file name), so one command shows both.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pixelfox_common.durable import fsync_dir
from pixelfox_protocol import layout, links
from pixelfox_protocol.internal import (
    BackupRecord,
    PoolImageFiles,
    PoolInfo,
    RepairPlan,
    VariantReport,
)

from ..backup.restore import restore_file
from ..processing import ImageLimits, VariantSpec

# One quarantine per pool: the outbox's refused uploads (flat) and the scrub's finds.
from ..upload.background import QUARANTINE_DIR
from .check import Fault


class RepairSource(Protocol):
    """Somewhere a lost or damaged file can come back from, for one image's repair plan."""

    name: str

    async def original(
        self, base: Path, pool: PoolInfo, item: PoolImageFiles, plan: RepairPlan
    ) -> str | None:
        """Put the image's original back, verified; None when done, else why not."""
        ...

    async def variant(
        self, base: Path, pool: PoolInfo, item: PoolImageFiles, plan: RepairPlan, path: str
    ) -> str | None:
        """Put the variant at ``path`` back, verified against its row; None when done."""
        ...


@dataclass
class BackupSource:
    """The S3 bucket of the image's primary pool (``pixelfox_storage.backup``): originals only.

    A replica's node reads it with its own S3 credentials; where those do not
    reach the primary's bucket, the restore fails and says so.
    """

    client: Any
    name: str = "s3-backup"

    async def original(
        self, base: Path, pool: PoolInfo, item: PoolImageFiles, plan: RepairPlan
    ) -> str | None:
        if not plan.backup_bucket:
            return "the image's pool has no backup bucket"
        record = BackupRecord(
            image_uuid=item.image_uuid,
            pool_id=pool.id,
            path=item.original.path,
            sha256=item.original.sha256,
            size=item.original.size,
        )
        # This pool's directory, the primary's bucket and prefix (the backup's key).
        where = {"backup_bucket": plan.backup_bucket, "backup_prefix": plan.backup_prefix}
        outcome = await asyncio.to_thread(
            restore_file, self.client, pool.model_copy(update=where), record, dry_run=False
        )
        if outcome.state in ("restored", "replaced", "present"):
            return None
        return f"{outcome.state}: {outcome.detail}" if outcome.detail else outcome.state

    async def variant(
        self, base: Path, pool: PoolInfo, item: PoolImageFiles, plan: RepairPlan, path: str
    ) -> str | None:
        return "the backup holds originals only"


async def repair_original(
    sources: Sequence[RepairSource],
    base: Path,
    pool: PoolInfo,
    item: PoolImageFiles,
    plan: RepairPlan,
) -> tuple[str, str]:
    """(source name, "") from the first source that brought the original back,
    else ("", every source's reason)."""
    reasons = []
    for source in sources:
        why = await source.original(base, pool, item, plan)
        if why is None:
            return source.name, ""
        reasons.append(f"{source.name}: {why}")
    return "", "; ".join(reasons) or "no source for originals"


async def repair_variant(
    sources: Sequence[RepairSource],
    base: Path,
    pool: PoolInfo,
    item: PoolImageFiles,
    plan: RepairPlan,
    path: str,
) -> tuple[str, str]:
    """(source name, "") from the first source that brought the variant back, else
    ("", every source's reason): re-make it, where that may be done."""
    reasons = []
    for source in sources:
        why = await source.variant(base, pool, item, plan, path)
        if why is None:
            return source.name, ""
        reasons.append(f"{source.name}: {why}")
    return "", "; ".join(reasons)


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


def quarantine(base: Path, rel: str, *, keep: bool = False) -> str:
    """Move a pool file to ``.quarantine/<rel>`` (a numbered name if taken); its new path.

    ``keep``: a hard link only, the file stays at its place too, for a caller that
    replaces it there atomically next (no moment without a file at the path).
    """
    source = base / rel
    target = base / QUARANTINE_DIR / rel
    n = 0
    while target.exists():
        n += 1
        target = base / QUARANTINE_DIR / f"{rel}.{n}"
    target.parent.mkdir(parents=True, exist_ok=True)
    if keep:
        os.link(source, target)
    else:
        os.rename(source, target)
        fsync_dir(source.parent)
    fsync_dir(target.parent)
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
