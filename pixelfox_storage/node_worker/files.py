"""Writing variant files so that a reader never sees half of one.

A variant is encoded into a temporary file under ``<pool>/.tmp/worker/``,
fsynced, and renamed over its final path. A job killed mid-write leaves only
a temporary file behind, which the next run of the same image (or the node's
sweeper) removes. The temporary directory is on the pool's own file system,
so the rename is atomic; it is outside ``original/``, ``variants/`` and
``private/``, so nginx never serves a temporary file.

Files of private images live under ``private/`` (``protocol.layout``);
``move_to_subtree`` renames an image's files between the subtrees when its
visibility changes. A deleted image's files are renamed into the pool's trash,
``.trash/<their path>`` (``move_to_trash``), which nothing serves, and back on
a restore; its purge removes them wherever they are (``purge_files``).
"""

from __future__ import annotations

import os
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pixelfox_common.durable import fsync_dir, makedirs_durable
from pixelfox_protocol import layout, links

TEMP_DIR = ".tmp/worker"
# Deleted images' files, at their pool-relative paths below it; outside original/,
# variants/ and private/, so neither nginx nor the node's own server serves them.
TRASH_DIR = ".trash"
_ORIGINAL_DATE = re.compile(r"^(?:private/)?original/(\d{4})/(\d{2})/(\d{2})/[^/]+$")


def original_date(path: str) -> datetime:
    """The upload date in a pool-relative original path; variants are filed under it."""
    match = _ORIGINAL_DATE.match(path)
    if match is None:
        raise ValueError(f"{path!r} is not [private/]original/YYYY/MM/DD/<name>")
    year, month, day = (int(g) for g in match.groups())
    return datetime(year, month, day, tzinfo=UTC)


@dataclass(frozen=True)
class Moved:
    """An image's files after ``move_to_subtree``: pool-relative paths."""

    original: str
    variants: list[str]


def move_to_subtree(base: Path, image_uuid: str, original: str, private: bool) -> Moved:
    """Rename an image's original and every variant into the private (or public) subtree.

    Same file system, so each rename is atomic and the file is at one of its two
    places at every moment; both directories are fsynced. Idempotent: files
    already in the target subtree stay where they are, so a run after a crash
    just finishes the job. Raises FileNotFoundError when the original is in
    neither place. Variants are found on disk, not from a list, so none that a
    crashed job wrote without reporting stays behind in the old subtree.
    """
    when = original_date(original)
    target = layout.in_subtree(original, private)
    rename_into(
        links.resolve_file(base, layout.in_subtree(original, not private)),
        links.resolve_file(base, target),
    )
    if not links.resolve_file(base, target).is_file():
        raise FileNotFoundError(f"original {original} is in neither subtree")
    old_dir = links.resolve_file(base, layout.variant_dir(when, private=not private))
    new_rel = layout.variant_dir(when, private=private)
    new_dir = links.resolve_file(base, new_rel)
    for variant in sorted(old_dir.glob(f"{image_uuid}_*")) if old_dir.is_dir() else []:
        rename_into(variant, new_dir / variant.name)
    found = sorted(new_dir.glob(f"{image_uuid}_*")) if new_dir.is_dir() else []
    return Moved(target, [f"{new_rel}/{v.name}" for v in found])


def rename_into(source: Path, target: Path) -> None:
    """Rename ``source`` to ``target`` durably; nothing to do when ``source`` is gone."""
    if not source.is_file():
        return
    makedirs_durable(target.parent)
    # Over an existing target only when a run died after writing it there: the
    # bytes are the same (originals never change, variants are deterministic).
    os.replace(source, target)
    fsync_dir(target.parent)
    fsync_dir(source.parent)


def _live_paths(base: Path, image_uuid: str, original: str) -> list[str]:
    """Pool-relative paths of the image's files in place, in either subtree.

    Variants are found on disk, so one written but not yet reported is found too.
    """
    found = []
    when = original_date(original)
    for private in (False, True):
        rel = layout.in_subtree(original, private)
        if links.resolve_file(base, rel).is_file():
            found.append(rel)
        folder_rel = layout.variant_dir(when, private=private)
        folder = links.resolve_file(base, folder_rel)
        if folder.is_dir():
            found += [f"{folder_rel}/{v.name}" for v in sorted(folder.glob(f"{image_uuid}_*"))]
    return found


def _in_trash(base: Path, relative: str) -> Path:
    return base / TRASH_DIR / links.resolve_file(base, relative).relative_to(base.resolve())


def _trashed_paths(base: Path, image_uuid: str, original: str) -> list[str]:
    """Pool-relative paths (where they belong) of the image's files in the trash."""
    found = []
    when = original_date(original)
    for private in (False, True):
        rel = layout.in_subtree(original, private)
        if _in_trash(base, rel).is_file():
            found.append(rel)
        folder_rel = layout.variant_dir(when, private=private)
        folder = _in_trash(base, folder_rel)
        if folder.is_dir():
            found += [f"{folder_rel}/{v.name}" for v in sorted(folder.glob(f"{image_uuid}_*"))]
    return found


def move_to_trash(base: Path, image_uuid: str, original: str, trashed: bool) -> int:
    """Rename the image's files into the pool's trash (``trashed``) or back where they were.

    Each rename is atomic (one file system), so a file is at one of its two
    places at every moment, and idempotent: a run after a crash finishes the
    job. Returns how many of the image's files are where they were asked to be.
    """
    if trashed:
        for rel in _live_paths(base, image_uuid, original):
            rename_into(links.resolve_file(base, rel), _in_trash(base, rel))
        return len(_trashed_paths(base, image_uuid, original))
    for rel in _trashed_paths(base, image_uuid, original):
        rename_into(_in_trash(base, rel), links.resolve_file(base, rel))
    return len(_live_paths(base, image_uuid, original))


def purge_files(base: Path, image_uuid: str, original: str) -> tuple[int, int]:
    """Delete every file of the image in the pool, trashed or in place; (files, bytes)."""
    removed = size = 0
    places = [links.resolve_file(base, p) for p in _live_paths(base, image_uuid, original)]
    places += [_in_trash(base, p) for p in _trashed_paths(base, image_uuid, original)]
    for path in places:
        try:
            size += path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            continue
        fsync_dir(path.parent)
        removed += 1
    return removed, size


def temp_dir(base: Path) -> Path:
    return base / TEMP_DIR


def write_atomically(base: Path, final: Path, data: bytes) -> None:
    """Put ``data`` at ``final`` all at once: temp file, fsync, rename, fsync directory."""
    tmp_root = temp_dir(base)
    tmp_root.mkdir(parents=True, exist_ok=True)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_root / f"{final.name}.{secrets.token_hex(4)}.tmp"
    try:
        with tmp.open("wb") as fh:
            fh.write(data)
            fh.flush()
            # Variants can be made again, but the app is told they exist: after a
            # power cut, a renamed file must not turn out empty.
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(final.parent)


def discard_temp_files(base: Path, image_uuid: str) -> int:
    """Remove what an earlier, killed run on this image left behind."""
    removed = 0
    for stale in temp_dir(base).glob(f"{image_uuid}_*.tmp"):
        stale.unlink(missing_ok=True)
        removed += 1
    return removed


def sweep_temp_files(base: Path, older_than_seconds: float) -> int:
    """Remove temporary files older than the given age (no running job keeps one that long)."""
    cutoff = time.time() - older_than_seconds
    removed = 0
    try:
        entries = list(os.scandir(temp_dir(base)))
    except FileNotFoundError:
        return 0
    for entry in entries:
        try:
            if entry.is_file() and entry.name.endswith(".tmp") and entry.stat().st_mtime < cutoff:
                os.unlink(entry.path)
                removed += 1
        except FileNotFoundError:
            continue
    return removed
