"""Renames and new folders that survive a power cut: fsync the directories whose entries changed.

A file's own fsync makes its bytes durable; its *name* (a rename into place, a
folder just made for it) is durable only once the directory holding that
entry is fsynced too. Every place that commits a file — uploads, variants,
visibility renames, moves, restores, the outbox — uses these two.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def fsync_dir(directory: Path) -> None:
    """Make the entries of ``directory`` (a rename, a new file or folder) durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def makedirs_durable(path: Path) -> None:
    """``mkdir -p`` that fsyncs each parent whose entries it changed."""
    missing: list[Path] = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=0o755)
        fsync_dir(folder.parent)
