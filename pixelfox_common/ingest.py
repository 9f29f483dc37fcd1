"""Ingest one uploaded image into a pool: stream, hash, judge, commit — or leave nothing.

Shared by the storage node's upload endpoint and the app's proxy mode, so both
apply the very same checks and error codes.

Usage::

    from pixelfox_common import ingest

    limits = ingest.IngestLimits(max_size=token_max_size)       # plus operator knobs
    ingest.check_declared_length(request.content_length, limits, multipart=True)
    result = await ingest.ingest_multipart(
        request.body, request.headers["Content-Type"],
        pool_base=Path(pool.base_path), image_uuid=claims.image_uuid, limits=limits,
    )
    # or, for a raw body (PUT with the image's Content-Type):
    result = await ingest.ingest_raw(
        request.body, pool_base=..., image_uuid=..., limits=limits,
        content_type=request.mimetype, filename=name, content_length=request.content_length,
    )
    result.path      # pool-relative: original/YYYY/MM/DD/<uuid>.<ext>
                     # (private=True: private/original/…, the signed-links-only subtree)
    result.sha256, result.size, result.mime, result.width, result.height, result.filename

Both take ``before_commit=async fn(result)``: called once the file passed every
check, right before it is linked into place (the storage node writes its
durable outbox record there, so no committed file is ever unaccounted for).

``body`` is any async iterator of byte chunks (a Quart request body; see
:mod:`pixelfox_common.streambody` for one that applies backpressure).

What happens, in order: the body streams into ``<pool>/.incoming/`` while it is
hashed (SHA-256) and counted; at ``max_size + 1`` bytes the upload stops with
FILE_TOO_LARGE at once (a chunked body has no length to trust). As soon as the
first 8 KiB are in, the magic bytes and the file name's extension are checked
(UNSUPPORTED_TYPE; SVG and XML always). Once the body is complete, libvips
judges the header with every foreign loader blocked (INVALID_IMAGE,
IMAGE_TOO_LARGE) — see :mod:`pixelfox_common.imagecheck` — and the file is
fsynced and linked to ``original/YYYY/MM/DD/<uuid>.<ext>`` with its directory
fsynced. Every failure, including the caller being cancelled (client gone),
deletes the temporary file; a cancellation during the final commit undoes the
commit. Errors are :class:`APIError`; the codes are in ``protocol/errors.py``.

Stray temporary files of killed processes are removed by
:func:`sweep_incoming` (the caller schedules it).

A body nginx spools to a file may be read while it is still being written (see
``pixelfox_storage.upload.follower``); :mod:`.followedform` runs this module's
multipart parse that way, the ``file`` part written and hashed as it comes.
:func:`ingest_multipart` takes such a parse in place of its own only when it is
complete and passes every check of the body; any refusal comes from its own
parse of the file, so codes and their order stay those of the plain path.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import logging
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from pixelfox_protocol import layout
from pixelfox_protocol.errors import APIError
from pixelfox_protocol.internal import UploadCompletion

from . import imagecheck
from .bodyfile import BodyFile
from .spool import HEAD_BYTES, Spool, sweep_incoming

if TYPE_CHECKING:
    from .followedform import FollowedForm

__all__ = [
    "DEFAULT_TYPES",
    "MULTIPART_OVERHEAD",
    "IngestLimits",
    "IngestResult",
    "check_declared_length",
    "ingest_multipart",
    "ingest_raw",
    "sweep_incoming",
]

log = logging.getLogger(__name__)

DEFAULT_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/avif"})
# What a multipart body may carry beyond the file itself: boundaries, part
# headers and small form fields. A declared length above max_size + this is
# refused before a byte is read.
MULTIPART_OVERHEAD = 64 * 1024


@dataclass(frozen=True)
class IngestLimits:
    """What one upload may be. ``max_size`` comes from the token (or the policy)."""

    max_size: int
    allowed_types: frozenset[str] = DEFAULT_TYPES
    max_pixels: int = 100_000_000
    max_frames: int = 200
    # Decode JPEG/PNG once (cheaply) to catch truncated files.
    verify_decode: bool = True
    # A body that sends nothing for this long is cut off (INCOMPLETE_UPLOAD).
    idle_timeout: float = 120.0


@dataclass(frozen=True)
class IngestResult:
    path: str
    full_path: Path
    size: int
    sha256: str
    mime: str
    width: int
    height: int
    frames: int
    filename: str
    # Where the time went: judging the bytes (sniff excluded: it is instant) and
    # committing them (before_commit, fsync of file and directory, link).
    check_seconds: float = 0.0
    commit_seconds: float = 0.0
    # Hashed (and, for a form, parsed) while the front server was still writing it.
    followed: bool = False

    def completion(
        self, *, session_id: str, image_uuid: str, pool_id: int, fallback_filename: str = ""
    ) -> UploadCompletion:
        """What the app records for this file (the node's report, the proxy's own record)."""
        return UploadCompletion(
            session_id=session_id,
            image_uuid=image_uuid,
            pool_id=pool_id,
            path=self.path,
            size=self.size,
            sha256=self.sha256,
            mime=self.mime,
            width=self.width,
            height=self.height,
            original_filename=self.filename or fallback_filename,
        )


def raw_filename(content_disposition: str, query_filename: str) -> str:
    """The client's name of a raw (PUT) upload: Content-Disposition, else ``?filename=``."""
    if content_disposition:
        _, params = parse_options_header(content_disposition)
        return params.get(b"filename", b"").decode("utf-8", errors="replace")
    return query_filename


# Called with the judged result just before the file is linked into place (e.g. to
# write a durable intent record); if it raises, nothing is committed.
BeforeCommit = Callable[[IngestResult], Awaitable[None]]


def check_declared_length(
    content_length: int | None, limits: IngestLimits, *, multipart: bool
) -> None:
    """FILE_TOO_LARGE before reading, when the declared length already says so."""
    if content_length is None:
        return
    allowed = limits.max_size + (MULTIPART_OVERHEAD if multipart else 0)
    if content_length > allowed:
        raise _too_large(limits)


def _too_large(limits: IngestLimits) -> APIError:
    return APIError(
        "FILE_TOO_LARGE",
        f"The file is larger than this upload allows ({limits.max_size} bytes).",
        details={"max_size": limits.max_size},
    )


class _Chunks:
    """The body's chunks, cut off when the client goes silent for too long."""

    def __init__(self, body: AsyncIterable[bytes], idle_timeout: float) -> None:
        self._it: AsyncIterator[bytes] = body.__aiter__()
        self._idle = idle_timeout

    def __aiter__(self) -> _Chunks:
        return self

    async def __anext__(self) -> bytes:
        try:
            async with asyncio.timeout(self._idle):
                return await self._it.__anext__()
        except TimeoutError:
            raise APIError(
                "INCOMPLETE_UPLOAD", f"No data arrived for {self._idle:.0f} seconds."
            ) from None


class _Upload:
    """One upload's spool and the checks that run while it fills."""

    def __init__(
        self, pool_base: Path, image_uuid: str, limits: IngestLimits, *, private: bool = False
    ) -> None:
        self.pool_base = pool_base
        self.image_uuid = image_uuid
        self.limits = limits
        # A private image's original goes to the pool's private subtree.
        self.private = private
        self.spool: Spool | BodyFile | None = None
        self.mime = ""
        self.filename = ""
        self.followed = False

    def open(self, filename: str, written: BodyFile | Spool | None = None) -> None:
        self.filename = imagecheck.clean_filename(filename)
        imagecheck.check_extension(self.filename, self.limits.allowed_types)
        if written is None:
            self.spool = Spool(self.pool_base, self.image_uuid)
            return
        # Already whole on disk: a spooled body (judged and linked in place, see
        # bodyfile) or a part a follower copied out of one.
        if written.size > self.limits.max_size:
            raise _too_large(self.limits)
        written.pool_base = self.pool_base
        self.spool = written

    def write(self, data: bytes | memoryview) -> None:
        spool = self.spool
        assert isinstance(spool, Spool)  # a streamed body; a BodyFile is whole already
        if spool.size + len(data) > self.limits.max_size:
            raise _too_large(self.limits)
        spool.write(data)

    async def after_chunk(self, *, complete: bool = False) -> None:
        spool = self.spool
        if spool is None:
            return
        if not self.mime and (complete or spool.size >= HEAD_BYTES):
            self.mime = imagecheck.sniff(spool.head, self.limits.allowed_types)
        await self.flush()

    async def flush(self) -> None:
        assert self.spool is not None
        try:
            await self.spool.flush()
        except OSError as exc:
            raise _disk_error(exc) from exc

    async def finalize(
        self, when: datetime | None, before_commit: BeforeCommit | None
    ) -> IngestResult:
        try:
            return await self._finalize(when, before_commit)
        except BaseException:
            self.abort()
            raise

    async def _finalize(
        self, when: datetime | None, before_commit: BeforeCommit | None
    ) -> IngestResult:
        spool = self.spool
        assert spool is not None
        try:
            sha256 = await spool.finish()
        except OSError as exc:
            raise _disk_error(exc) from exc
        if not self.mime:
            self.mime = imagecheck.sniff(spool.head, self.limits.allowed_types)
        checking = time.perf_counter()
        info = await asyncio.to_thread(
            imagecheck.inspect,
            spool.temp_path,
            self.mime,
            max_pixels=self.limits.max_pixels,
            max_frames=self.limits.max_frames,
            verify_decode=self.limits.verify_decode,
        )
        if info.mime not in self.limits.allowed_types:
            # The sniffed brand said AVIF, the decoder found HEVC (HEIC), or the like.
            raise APIError("UNSUPPORTED_TYPE", details={"detected": info.mime})
        ext = layout.EXTENSIONS[info.mime]
        relative = layout.original_path(
            self.image_uuid, ext, when or datetime.now(UTC), private=self.private
        )
        committing = time.perf_counter()
        result = IngestResult(
            path=relative,
            full_path=self.pool_base / relative,
            size=spool.size,
            sha256=sha256,
            mime=info.mime,
            width=info.width,
            height=info.height,
            frames=info.frames,
            filename=self.filename,
            check_seconds=committing - checking,
            followed=self.followed or (isinstance(spool, BodyFile) and spool.followed),
        )
        if before_commit is not None:
            await before_commit(result)
        try:
            await spool.commit(relative)
        except FileExistsError as exc:
            raise APIError("SESSION_INVALID", "An image with this id is stored already.") from exc
        except OSError as exc:
            raise _disk_error(exc) from exc
        return dataclasses.replace(result, commit_seconds=time.perf_counter() - committing)

    def abort(self) -> None:
        if self.spool is not None:
            self.spool.abort()


def _disk_error(exc: OSError) -> APIError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return APIError("STORAGE_FULL")
    log.error("pool write failed: %s", exc)
    return APIError("INTERNAL", "The file could not be written.")


async def _finish(
    upload: _Upload, when: datetime | None, before_commit: BeforeCommit | None
) -> IngestResult:
    """Judge and commit, shielded: a client leaving mid-commit cannot half-commit.

    From here on the task owns the spool (a failure inside aborts it); when the
    caller is cancelled, the task runs to its end and its file is removed.
    """
    task = asyncio.ensure_future(upload.finalize(when, before_commit))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        task.add_done_callback(lambda t: _undo(t, upload))
        raise


def _undo(task: asyncio.Future[IngestResult], upload: _Upload) -> None:
    # The caller is gone, so nobody will acknowledge this file: remove it.
    upload.abort()
    if task.cancelled() or task.exception() is not None:
        return
    task.result().full_path.unlink(missing_ok=True)


async def ingest_raw(
    body: AsyncIterable[bytes] | BodyFile,
    *,
    pool_base: Path,
    image_uuid: str,
    limits: IngestLimits,
    content_type: str = "",
    filename: str = "",
    content_length: int | None = None,
    when: datetime | None = None,
    before_commit: BeforeCommit | None = None,
    private: bool = False,
) -> IngestResult:
    """Ingest a raw body (the whole body is the image). See the module docstring."""
    declared = content_type.split(";", 1)[0].strip().lower()
    if declared and declared != "application/octet-stream":
        if "svg" in declared or "xml" in declared:
            raise APIError("UNSUPPORTED_TYPE", "SVG and XML files are not accepted.")
        if declared not in limits.allowed_types:
            raise APIError("UNSUPPORTED_TYPE", details={"content_type": declared})
    check_declared_length(content_length, limits, multipart=False)
    if isinstance(body, BodyFile) and body.device != pool_base.stat().st_dev:
        body = body.chunks()  # another filesystem: no link possible, stream it over
    upload = _Upload(pool_base, image_uuid, limits, private=private)
    try:
        if isinstance(body, BodyFile):
            upload.open(filename, body)
        else:
            upload.open(filename)
            async for chunk in _Chunks(body, limits.idle_timeout):
                upload.write(chunk)
                await upload.after_chunk()
        assert upload.spool is not None
        if content_length is not None and upload.spool.size != content_length:
            raise APIError("INCOMPLETE_UPLOAD")
        await upload.after_chunk(complete=True)
    except BaseException:
        upload.abort()
        raise
    return await _finish(upload, when, before_commit)


class _Form:
    """python-multipart callbacks: route the ``file`` part into the upload, skip the rest."""

    def __init__(self, upload: _Upload, field: str) -> None:
        self.upload = upload
        self.field = field
        self.header_name = bytearray()
        self.header_value = bytearray()
        self.disposition = b""
        self.in_file = False
        self.file_done = False
        self.other_bytes = 0
        self.ended = False

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_end": self.on_end,
        }

    def on_part_begin(self) -> None:
        self.disposition = b""
        self.in_file = False

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        if bytes(self.header_name).strip().lower() == b"content-disposition":
            self.disposition = bytes(self.header_value)
        self.header_name.clear()
        self.header_value.clear()

    def on_headers_finished(self) -> None:
        _, params = parse_options_header(self.disposition)
        if params.get(b"name", b"").decode("latin-1") != self.field:
            return
        if self.upload.spool is not None:
            raise APIError("BAD_REQUEST", f"Send exactly one '{self.field}' part.")
        raw_name = params.get(b"filename", b"")
        # Browsers send UTF-8 names; python-multipart hands us the raw bytes.
        self.upload.open(raw_name.decode("utf-8", errors="replace"))
        self.in_file = True

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.in_file:
            self.upload.write(memoryview(data)[start:end])
            return
        self.other_bytes += end - start
        if self.other_bytes > MULTIPART_OVERHEAD:
            raise APIError("BAD_REQUEST", "The form carries too much besides the file.")

    def on_part_end(self) -> None:
        if self.in_file:
            self.file_done = True
            self.in_file = False

    def on_end(self) -> None:
        self.ended = True


async def ingest_multipart(
    body: AsyncIterable[bytes] | BodyFile,
    content_type: str,
    *,
    pool_base: Path,
    image_uuid: str,
    limits: IngestLimits,
    field: str = "file",
    when: datetime | None = None,
    before_commit: BeforeCommit | None = None,
    private: bool = False,
) -> IngestResult:
    """Ingest the ``field`` part of a multipart/form-data body. See the module docstring."""
    mimetype, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if mimetype != b"multipart/form-data" or not boundary:
        raise APIError(
            "BAD_REQUEST",
            f"Send the file as multipart/form-data field '{field}', or PUT the raw image.",
        )
    if isinstance(body, BodyFile):
        followed = await body.followed_form(boundary)
        if followed is not None:
            taken = _take_followed(
                followed, _Upload(pool_base, image_uuid, limits, private=private)
            )
            if taken is not None:
                return await _finish(taken, when, before_commit)
        body = body.chunks()  # the part is copied out into a spool of its own
    upload = _Upload(pool_base, image_uuid, limits, private=private)
    form = _Form(upload, field)
    try:
        try:
            parser = MultipartParser(boundary, form.callbacks())  # type: ignore[arg-type]
        except (MultipartParseError, ValueError) as exc:
            raise APIError("BAD_REQUEST", "The multipart boundary is not valid.") from exc
        async for chunk in _Chunks(body, limits.idle_timeout):
            try:
                parser.write(chunk)
            except MultipartParseError as exc:
                raise APIError("BAD_REQUEST", "The multipart body is malformed.") from exc
            await upload.after_chunk(complete=form.file_done)
        if upload.spool is None:
            if form.ended:
                raise APIError("MISSING_FILE", details={"field": field})
            raise APIError("INCOMPLETE_UPLOAD")
        if not form.file_done or not form.ended:
            raise APIError("INCOMPLETE_UPLOAD")
        await upload.after_chunk(complete=True)
    except BaseException:
        upload.abort()
        raise
    return await _finish(upload, when, before_commit)


def _take_followed(followed: FollowedForm, upload: _Upload) -> _Upload | None:
    """``upload`` holding the followed part, when it is complete and passes every body check."""
    part = followed.upload.part
    if followed.complete and part is not None and part.pool_base == upload.pool_base:
        try:
            upload.open(followed.upload.raw_filename, part)
            upload.mime = imagecheck.sniff(part.head, upload.limits.allowed_types)
        except APIError:
            pass  # refused: the body's own parse gives the answer, exactly as always
        else:
            upload.followed = True
            return upload
    followed.discard()
    return None
