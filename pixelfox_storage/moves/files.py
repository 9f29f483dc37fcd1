"""The file work of a move: hashing, copying into another pool durably, removing sources.

A copy is written to a temporary file in the *target* pool (``.tmp/worker/``,
which the node's sweeper cleans, and nginx never serves), fsynced, and
renamed into place, so a reader of the target never sees half a file and a
kill leaves only a temporary file.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from pixelfox_common.durable import fsync_dir, makedirs_durable
from pixelfox_protocol import links

CHUNK = 1024 * 1024
# The node worker's temporary folder (worker.files.TEMP_DIR), whose sweeper removes
# what a killed copy left. Not imported: the worker's lanes import this package.
TEMP_DIR = ".tmp/worker"


class ChecksumMismatch(Exception):
    """A copy's SHA-256 differs from what it must be; the copy was removed."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def read_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            yield chunk


def same_file(first: Path, second: Path) -> bool:
    """True when both names reach one file (two pools on one directory): no IO then."""
    if first == second:
        return True
    try:
        return os.path.samefile(first, second)
    except FileNotFoundError:
        return False


def temp_file(base: Path, final: Path) -> Path:
    folder = base / TEMP_DIR
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{final.name}.{secrets.token_hex(4)}.tmp"


def commit(tmp: Path, final: Path) -> None:
    """Rename a written, fsynced temporary file into place and make the rename durable."""
    makedirs_durable(final.parent)
    os.chmod(tmp, 0o644)
    os.replace(tmp, final)
    fsync_dir(final.parent)


def commit_new(tmp: Path, final: Path) -> bool:
    """As :func:`commit`, but never over an existing file: False (``tmp`` gone) if one is there.

    A hard link is atomic and fails when the name exists, so two writers of one
    path can never replace each other's file.
    """
    makedirs_durable(final.parent)
    os.chmod(tmp, 0o644)
    try:
        os.link(tmp, final)
    except FileExistsError:
        tmp.unlink(missing_ok=True)
        return False
    tmp.unlink()
    fsync_dir(final.parent)
    return True


def copy_local(source: Path, target_base: Path, relative: str, expected_sha256: str = "") -> str:
    """Copy ``source`` to ``relative`` in the pool at ``target_base``; returns its SHA-256.

    The copy is hashed while written and read back after the fsync: what is
    verified is the target's bytes. ``expected_sha256`` (the original's, as the
    app recorded it) must match, else the copy is removed and ChecksumMismatch
    raised. Writing over an existing target file is fine: no row points at it
    while the image's rows point at the source.
    """
    final = links.resolve_file(target_base, relative)
    tmp = temp_file(target_base, final)
    digest = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for chunk in read_chunks(source):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        written = digest.hexdigest()
        if expected_sha256 and written != expected_sha256:
            raise ChecksumMismatch(f"{relative}: source has {written}, expected {expected_sha256}")
        commit(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    at_target = sha256_of(final)
    if at_target != written:
        final.unlink(missing_ok=True)
        raise ChecksumMismatch(f"{relative}: target reads back {at_target}, wrote {written}")
    return written


def remove(path: Path) -> bool:
    """Delete one source copy durably; False when it was already gone."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    fsync_dir(path.parent)
    return True
