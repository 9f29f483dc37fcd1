"""Two Linux calls Python's ``os`` lacks, for an upload's data file.

- :func:`allocate` — ``fallocate(FALLOC_FL_KEEP_SIZE)``: the upload's whole
  length is taken from the disk at creation while the file's size (its
  offset) stays what was written;
- :func:`start_writeback` — ``sync_file_range(SYNC_FILE_RANGE_WRITE)``: the
  bytes just written start for the disk at once, without waiting, so the
  fdatasync that makes a chunk's offset durable before its answer finds
  (nearly) nothing left to write. That wait is the one cost a chunk pays
  that a single upload pays only once.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import logging
import os

from pixelfox_protocol.errors import APIError

log = logging.getLogger(__name__)

_FALLOC_FL_KEEP_SIZE = 1
_SYNC_FILE_RANGE_WRITE = 2
_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
_libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
_libc.sync_file_range.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]


def allocate(fd: int, length: int) -> None:
    """Reserve ``length`` bytes for ``fd`` (its size unchanged); STORAGE_FULL if the disk can't."""
    if length == 0 or _libc.fallocate(fd, _FALLOC_FL_KEEP_SIZE, 0, length) == 0:
        return
    code = ctypes.get_errno()
    if code in (errno.ENOSPC, errno.EDQUOT):
        raise APIError("STORAGE_FULL")
    if code in (errno.EOPNOTSUPP, errno.ENOSYS):
        # A filesystem without fallocate: the upload still works, but its space
        # is taken only as it arrives.
        log.warning("the pool's filesystem cannot allocate ahead; tus space is not reserved")
        return
    raise OSError(code, os.strerror(code))


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Begin writing ``length`` bytes at ``offset`` to the disk; returns at once (best effort)."""
    _libc.sync_file_range(fd, offset, length, _SYNC_FILE_RANGE_WRITE)
