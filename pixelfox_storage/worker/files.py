"""Writing variant files so that a reader never sees half of one.

A variant is encoded into a temporary file under ``<pool>/.tmp/worker/``,
fsynced, and renamed over its final path. A job killed mid-write leaves only
a temporary file behind, which the next run of the same image (or the node's
sweeper) removes. The temporary directory is on the pool's own file system,
so the rename is atomic; it is outside ``original/`` and ``variants/``, so
nginx never serves a temporary file.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path

TEMP_DIR = ".tmp/worker"
_ORIGINAL_DATE = re.compile(r"^original/(\d{4})/(\d{2})/(\d{2})/[^/]+$")


def original_date(path: str) -> datetime:
    """The upload date in a pool-relative original path; variants are filed under it."""
    match = _ORIGINAL_DATE.match(path)
    if match is None:
        raise ValueError(f"{path!r} is not original/YYYY/MM/DD/<name>")
    year, month, day = (int(g) for g in match.groups())
    return datetime(year, month, day, tzinfo=UTC)


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
    _fsync_dir(final.parent)


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


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
