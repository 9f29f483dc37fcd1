"""One request's body appended to a resumable upload (a PATCH, or a creation with data).

The bytes go to the end of the upload's data file as they come, feeding the
whole file's running SHA-256 (:mod:`.digests`); when the request ends — its
body complete, the connection cut, or the request asked to give up its lock —
what arrived is fdatasync'd and is the new offset. A chunk sent with
``Upload-Checksum`` goes to the upload's ``.chunk`` file instead and is
appended only once it matched; a mismatch, or a cut before its end, discards
it (460 / nothing). A chunk that would run past ``Upload-Length`` is refused
(FILE_TOO_LARGE) and discarded.

Once the first 8 KiB of the file are in, its type is sniffed, as a single
upload's is: a file that is no accepted image is refused there and then
(``imagecheck.ImageRejected``; the caller removes the upload), not after
the client has sent the rest of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections.abc import AsyncIterable
from dataclasses import dataclass

from pixelfox_common import imagecheck, metrics
from pixelfox_common.ingest import IngestLimits
from pixelfox_common.ingest.incoming import HEAD_BYTES
from pixelfox_common.ingest.limits import too_large
from pixelfox_common.ingest.upload import Chunks
from pixelfox_protocol.errors import APIError

from .locks import Holder
from .protocol import Checksum
from .uploads import Found, TusUploads
from .writer import ChunkSink


@dataclass
class _Head:
    """The file's first bytes until they are enough to sniff."""

    limits: IngestLimits
    data: bytes
    done: bool

    def feed(self, chunk: bytes) -> None:
        if self.done:
            return
        self.data += chunk[: HEAD_BYTES - len(self.data)]
        if len(self.data) >= HEAD_BYTES:
            self.done = True
            imagecheck.sniff(self.data, self.limits.allowed_types)


async def append(
    tus: TusUploads,
    found: Found,
    holder: Holder,
    body: AsyncIterable[bytes],
    *,
    content_length: int | None,
    checksum: Checksum | None,
) -> int:
    """Append the body at the upload's offset; the new offset, durable on disk."""
    fd, files, info = holder.fd, found.files, found.info
    start = os.fstat(fd).st_size
    claims = info.upload_claims()
    limits = tus.node.limits(claims.max_size)
    room = info.length - start
    if content_length is not None and content_length > room:
        raise too_large(limits)
    whole = await tus.digests.at(files.id, fd, start)
    head = _Head(limits, b"", done=start >= HEAD_BYTES)
    if not head.done:
        head.data = await asyncio.to_thread(os.pread, fd, start, 0)
    chunk_fd: int | None = None
    check: hashlib._Hash | None = None
    if checksum is not None:
        flags = os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
        chunk_fd = os.open(files.chunk, flags, 0o640)
        check = checksum.new()
        sink = ChunkSink(chunk_fd, 0, [whole, check])
    else:
        sink = ChunkSink(fd, start, [whole])
    try:
        with metrics.upload_in_flight():
            error = await _receive(body, sink, room, head, holder, limits.idle_timeout)
            await sink.settle()
        if chunk_fd is not None:
            assert check is not None and checksum is not None
            if error is None and check.digest() != checksum.digest:
                error = APIError("TUS_CHECKSUM_MISMATCH", details={"algorithm": checksum.algorithm})
            if error is not None:
                # Not verified (a mismatch, or a chunk that never ended): none of it counts.
                tus.digests.forget(files.id)
                raise error
            await asyncio.to_thread(_copy_in, chunk_fd, fd, start, sink.received)
        elif isinstance(error, APIError) and error.code != "INCOMPLETE_UPLOAD":
            # Too long, a refused type, a failed write: this request's bytes do not count.
            tus.digests.forget(files.id)
            await asyncio.to_thread(os.ftruncate, fd, start)
            raise error
        await asyncio.to_thread(os.fdatasync, fd)
    except BaseException:
        tus.digests.forget(files.id)
        raise
    finally:
        if chunk_fd is not None:
            os.close(chunk_fd)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(files.chunk)
    offset = start + sink.received
    tus.digests.keep(files.id, offset, whole)
    if error is not None:
        raise error  # idle: the client stalled; what came is kept
    return offset


async def _receive(
    body: AsyncIterable[bytes],
    sink: ChunkSink,
    room: int,
    head: _Head,
    holder: Holder,
    idle_timeout: float,
) -> APIError | None:
    """Read the body into ``sink`` until it ends or the holder is asked to give up.

    Returns why it stopped early (an APIError), None when it ended or gave up.
    """

    async def read() -> None:
        async for chunk in Chunks(body, idle_timeout):
            if sink.received + len(chunk) > room:
                raise APIError("FILE_TOO_LARGE", "The chunk runs past the upload's length.")
            sink.add(chunk)
            head.feed(chunk)
            await sink.flush()

    reading = asyncio.ensure_future(read())
    asked = asyncio.ensure_future(holder.asked.wait())
    try:
        await asyncio.wait({reading, asked}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        asked.cancel()
        if not reading.done():
            reading.cancel()
        await asyncio.wait({reading})
    if reading.cancelled():
        return None
    exc = reading.exception()
    if exc is None:
        return None
    if isinstance(exc, APIError):
        return exc
    raise exc


def _copy_in(chunk_fd: int, fd: int, start: int, size: int) -> None:
    """Append the verified chunk (an in-kernel copy on the same filesystem)."""
    done = 0
    while done < size:
        copied = os.copy_file_range(chunk_fd, fd, size - done, done, start + done)
        if copied == 0:
            raise OSError("the chunk file ended early")
        done += copied
