"""Finding faults: an image's files against its rows, and the pool's files without a row.

Everything here runs in a worker thread and reads the disk only; nothing is
changed. Hashing goes through :class:`Throttle`, which holds the reads to a
bytes/s cap so a scrub never starves uploads of the disk.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from pixelfox_common.ingest.incoming import INCOMING_DIR
from pixelfox_protocol import layout, links
from pixelfox_protocol.internal import PoolFile, PoolImageFiles

READ_CHUNK = 1024 * 1024

# Fault kinds, as reports and the admin name them.
MISSING = "missing"
WRONG_SIZE = "wrong-size"
WRONG_SHA256 = "wrong-sha256"
MISSING_VARIANT = "missing-variant"
ORPHAN = "orphan"
STRAY_INCOMING = "stray-incoming"
FAULT_KINDS = (MISSING, WRONG_SIZE, WRONG_SHA256, MISSING_VARIANT, ORPHAN, STRAY_INCOMING)
# The folders a pool's image files live in (public and private subtree).
FILE_ROOTS = (
    "original",
    "variants",
    f"{layout.PRIVATE_DIR}/original",
    f"{layout.PRIVATE_DIR}/variants",
)


@dataclass(frozen=True)
class Fault:
    kind: str
    path: str  # pool-relative
    image_uuid: str = ""
    role: str = ""  # original | variant | "" (a file without a row)
    detail: str = ""


@dataclass
class Throttle:
    """A bytes/s cap over every read of one scrub (0: no cap)."""

    bytes_per_second: int = 0
    read: int = 0
    _started: float = field(default_factory=time.monotonic)

    def took(self, n: int) -> None:
        self.read += n
        if self.bytes_per_second <= 0:
            return
        ahead = self.read / self.bytes_per_second - (time.monotonic() - self._started)
        if ahead > 0:
            time.sleep(ahead)


def sha256_of(path: Path, throttle: Throttle) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(READ_CHUNK):
            digest.update(chunk)
            throttle.took(len(chunk))
    return digest.hexdigest()


def check_file(
    base: Path, file: PoolFile, *, hashes: bool, throttle: Throttle
) -> tuple[str, str] | None:
    """(fault kind, detail) of one file with a row, or None when it is right."""
    try:
        # Where it is now: a visibility change in flight may have renamed it already.
        full = links.resolve_file(base, links.file_now(base, file.path))
    except layout.UnsafePath:
        return MISSING, "the recorded path is not one of the layout"
    try:
        size = full.stat().st_size
    except FileNotFoundError:
        return MISSING, ""
    if size != file.size:
        return WRONG_SIZE, f"{size} bytes on disk, {file.size} recorded"
    if hashes and file.sha256:
        found = sha256_of(full, throttle)
        if found != file.sha256:
            return WRONG_SHA256, f"SHA-256 {found} on disk, {file.sha256} recorded"
    return None


def expected_variants(item: PoolImageFiles, kinds: frozenset[str]) -> list[str]:
    """Paths of the variants a ready image should have (``kinds``: '<name>.<format>')
    but has no row for."""
    if item.state != "ready":
        return []
    try:
        when = datetime.strptime("/".join(layout.check(item.original.path).parts[1:4]), "%Y/%m/%d")
    except (layout.UnsafePath, ValueError):
        return []
    private = layout.is_private(item.original.path)
    have = set(item.kinds)
    paths = []
    for kind in sorted(kinds - have):
        name, fmt = kind.split(".", 1)
        paths.append(layout.variant_path(item.image_uuid, name, fmt, when, private=private))
    return paths


def check_image(
    base: Path,
    item: PoolImageFiles,
    *,
    hashes: bool,
    throttle: Throttle,
    variant_kinds: frozenset[str],
) -> list[Fault]:
    """Every fault of one image: its original, its variant rows, its missing variants."""
    faults = []
    files = [("original", item.original)] + [("variant", v) for v in item.variants]
    for role, file in files:
        found = check_file(base, file, hashes=hashes, throttle=throttle)
        if found is not None:
            faults.append(Fault(found[0], file.path, item.image_uuid, role, found[1]))
    for path in expected_variants(item, variant_kinds):
        faults.append(Fault(MISSING_VARIANT, path, item.image_uuid, "variant", "no row"))
    return faults


def image_files_on_disk(base: Path) -> Iterator[str]:
    """Pool-relative paths of every file under the pool's image folders."""
    for root in FILE_ROOTS:
        top = base / root
        if not top.is_dir():
            continue
        for folder, _, names in os.walk(top):
            for name in names:
                yield Path(folder, name).relative_to(base).as_posix()


def find_orphans(
    base: Path,
    known: set[str],
    *,
    grace_seconds: float,
    incoming_grace_seconds: float = 0.0,
    now: float | None = None,
) -> list[Fault]:
    """Files with no row older than the grace period, and stray upload parts.

    ``known`` holds every pool-relative path the app listed for the pool. A
    file younger than ``grace_seconds`` may be an upload or a copy whose row is
    on its way, so it is left out. Parts under ``.incoming/`` count only once
    older than ``incoming_grace_seconds`` too (a resumable upload lives a day).
    """
    now = time.time() if now is None else now
    cutoff = now - grace_seconds
    incoming_cutoff = now - max(grace_seconds, incoming_grace_seconds)
    faults = []
    for rel in image_files_on_disk(base):
        if rel in known:
            continue
        try:
            if (base / rel).stat().st_mtime > cutoff:
                continue
        except FileNotFoundError:
            continue
        faults.append(Fault(ORPHAN, rel, _uuid_of(rel)))
    incoming = base / INCOMING_DIR
    if incoming.is_dir():
        for folder, _, names in os.walk(incoming):
            for name in names:
                full = Path(folder, name)
                try:
                    if full.stat().st_mtime > incoming_cutoff:
                        continue
                except FileNotFoundError:
                    continue
                faults.append(Fault(STRAY_INCOMING, full.relative_to(base).as_posix()))
    return faults


def _uuid_of(rel: str) -> str:
    try:
        return layout.image_file(rel)
    except layout.UnsafePath:
        return ""
