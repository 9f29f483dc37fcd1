"""The file work of a batch of images moving between two pools of one node.

Small files are bound by fsync, not by bytes: one file's fsync costs a journal
commit, and commits of fsyncs issued at the same time are shared. So the
files of a batch are copied by a few threads at once (``PARALLEL_FILES``), each
into a temporary file in the target pool, hashed while written and fsynced;
then renamed into place, and each directory that changed is fsynced once for
the whole batch (not once per file); then every copy is read back and hashed.
Removing the sources after the switch unlinks each file and fsyncs each source
directory once.

A kill at any point leaves temporary files (the sweeper removes them) or whole,
verified copies that no row points at yet (a rerun writes them again).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from pixelfox_common.durable import fsync_dir, makedirs_durable
from pixelfox_protocol import links
from pixelfox_protocol.internal import MoveFile, MoveTicket

from . import files

# Files copied at once. The disk's journal shares one commit among the fsyncs
# waiting for it: 8 writers make a small file's fsync about four times cheaper
# than one after another (bench/moves.py measures it), more add little.
PARALLEL_FILES = 8

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class Staged:
    """One file copied into the target's temporary folder (``tmp`` None: no IO needed)."""

    file: MoveFile
    there: Path
    tmp: Path | None
    size: int
    sha256: str


@dataclass
class CopiedImage:
    """What became of one image's files: staged, missing, or why it cannot move.

    ``quarantine``: the source itself is at fault (its original missing, or not
    the upload's bytes), so the image is quarantined, never moved; ``error``: the
    copy failed (the target reads back other bytes), so it fails.
    """

    ticket: MoveTicket
    staged: list[Staged] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    error: str = ""
    quarantine: str = ""
    skipped: str = ""  # nothing to move any more (the image was deleted meanwhile)

    @property
    def bytes(self) -> int:
        return sum(s.size for s in self.staged)

    @property
    def ok(self) -> bool:
        return not self.error and not self.quarantine and not self.skipped


def _stage(source: Path, target: Path, file: MoveFile, expected_sha256: str) -> Staged | None:
    """Copy one file into the target's temporary folder, hashed and fsynced; None if missing."""
    here = links.resolve_file(source, file.path)
    there = links.resolve_file(target, file.path)
    try:
        handle = here.open("rb")
    except (FileNotFoundError, IsADirectoryError):
        return None
    with handle:
        if files.same_file(here, there):
            size = os.fstat(handle.fileno()).st_size
            return Staged(file, there, None, size, expected_sha256)
        tmp = files.temp_file(target, there)
        digest = hashlib.sha256()
        size = 0
        try:
            with tmp.open("wb") as out:
                while chunk := handle.read(files.CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    written = digest.hexdigest()
    if expected_sha256 and written != expected_sha256:
        tmp.unlink(missing_ok=True)
        raise files.ChecksumMismatch(
            f"{file.path}: the source has {written}, expected {expected_sha256}"
        )
    return Staged(file, there, tmp, size, written)


def _each(pool: ThreadPoolExecutor, work: Callable[[T], R], items: Iterable[T]) -> list[R]:
    return list(pool.map(work, items))


def copy_batch(
    source: Path, target: Path, tickets: list[MoveTicket], parallel: int = PARALLEL_FILES
) -> list[CopiedImage]:
    """Copy every image's files durably into the target pool and verify them there.

    An image whose original is missing, or whose original differs from the
    upload's SHA-256, gets no file at the target (its staged files are
    dropped); a missing variant is noted and the rest moves.
    """
    copies = [CopiedImage(ticket) for ticket in tickets]
    jobs = [
        (copy, file, ticket.original.sha256 if file is ticket.original else "")
        for copy, ticket in zip(copies, tickets, strict=True)
        for file in [ticket.original, *ticket.variants]
    ]
    (target / files.TEMP_DIR).mkdir(parents=True, exist_ok=True)

    def stage(job: tuple[CopiedImage, MoveFile, str]) -> None:
        copy, file, expected = job
        try:
            staged = _stage(source, target, file, expected)
        except files.ChecksumMismatch as exc:
            copy.quarantine = str(exc)
            return
        if staged is None:
            copy.missing.append(file.path)
            if file is copy.ticket.original:
                copy.quarantine = f"original {file.path} is missing at the source"
        else:
            copy.staged.append(staged)

    with ThreadPoolExecutor(parallel, thread_name_prefix="move-copy") as pool:
        _each(pool, stage, jobs)
        for copy in copies:
            if not copy.ok:
                for staged in copy.staged:
                    if staged.tmp is not None:
                        staged.tmp.unlink(missing_ok=True)
                copy.staged = []
        moving = [s for copy in copies for s in copy.staged if s.tmp is not None]
        folders = sorted({s.there.parent for s in moving})
        for folder in folders:
            makedirs_durable(folder)
        for staged in moving:
            assert staged.tmp is not None
            os.chmod(staged.tmp, 0o644)
            os.replace(staged.tmp, staged.there)
        _each(pool, fsync_dir, folders)

        def verify(copy: CopiedImage) -> None:
            for staged in copy.staged:
                if staged.tmp is None:
                    continue
                at_target = files.sha256_of(staged.there)
                if at_target != staged.sha256:
                    copy.error = (
                        f"{staged.file.path}: the target reads back {at_target}, "
                        f"wrote {staged.sha256}"
                    )
            if copy.error:
                for staged in copy.staged:
                    if staged.tmp is not None:
                        staged.there.unlink(missing_ok=True)

        _each(pool, verify, copies)
    return copies


def remove_sources(source: Path, target: Path | None, every: list[MoveFile]) -> int:
    """Delete the source copies of these files, each source folder fsynced once.

    Never a file the target reaches too (two pools on one directory: it is the
    moved copy). Several unlinks at once, as the copies: each waits for the
    journal. Returns how many files were removed.
    """

    def remove(file: MoveFile) -> Path | None:
        here = links.resolve_file(source, file.path)
        if target is not None and files.same_file(here, links.resolve_file(target, file.path)):
            return None
        try:
            here.unlink()
        except FileNotFoundError:
            return None
        return here.parent

    with ThreadPoolExecutor(PARALLEL_FILES, thread_name_prefix="move-remove") as pool:
        removed = [folder for folder in _each(pool, remove, every) if folder is not None]
        _each(pool, fsync_dir, sorted(set(removed)))
    return len(removed)
