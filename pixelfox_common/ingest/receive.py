"""Ingest one uploaded image: from a request (:func:`receive`), a raw body, or a form.

What happens, in order: the body streams into ``<pool>/.incoming/`` while it is
hashed (SHA-256) and counted; at ``max_size + 1`` bytes the upload stops with
FILE_TOO_LARGE at once (a chunked body has no length to trust). As soon as the
first 8 KiB are in, the magic bytes and the file name's extension are checked
(UNSUPPORTED_TYPE; SVG and XML always). Once the body is complete, libvips
judges the header with every foreign loader blocked (INVALID_IMAGE,
IMAGE_TOO_LARGE) — see :mod:`pixelfox_common.imagecheck` — and the file is
fsynced and linked into place (see :mod:`.upload`).

A body a front server wrote to disk already (:class:`~.written.WrittenBody`)
goes through the same checks in the same order; a form's part that a follower
copied out while the body was written is taken only when the parse is complete
and the part passes every check of the body, so any refusal comes from ingest's
own parse of the file, with the codes of the plain path.
"""

from __future__ import annotations

from collections.abc import AsyncIterable
from datetime import datetime
from pathlib import Path

from python_multipart.multipart import parse_options_header
from quart import Request

from pixelfox_protocol.errors import APIError

from .. import imagecheck
from ..streambody import StreamBody
from .form import FormParser, form_boundary
from .limits import IngestLimits, check_declared_length
from .result import BeforeCommit, IngestResult
from .upload import Chunks, Upload
from .written import FollowedPart, WrittenBody


def is_form_upload(method: str) -> bool:
    """POST carries a multipart form (field ``file``); PUT carries the raw image."""
    return method == "POST"


def raw_filename(request: Request) -> str:
    """The client's name of a raw (PUT) upload: Content-Disposition's, else ``?filename=``."""
    disposition = request.headers.get("Content-Disposition", "")
    if disposition:
        _, params = parse_options_header(disposition)
        return params.get(b"filename", b"").decode("utf-8", errors="replace")
    return request.args.get("filename", "")


async def receive(
    request: Request,
    *,
    pool_base: Path,
    image_uuid: str,
    limits: IngestLimits,
    private: bool = False,
    before_commit: BeforeCommit | None = None,
    written: WrittenBody | None = None,
) -> IngestResult:
    """Ingest the image ``request`` carries (POST form field ``file``, PUT raw) into a pool.

    The body is the request's own, streamed (its size is counted against
    ``limits.max_size`` here, not by the framework), or ``written``: the same body
    as a front server wrote it to disk. ``before_commit`` runs once the file passed
    every check, right before it is linked into place; ``private`` puts it in the
    pool's private subtree.
    """
    body: AsyncIterable[bytes] | WrittenBody
    if written is not None:
        body = written
    else:
        body = request.body
        if isinstance(body, StreamBody):
            body.max_content_length = None  # counted against limits.max_size instead
    content_type = request.headers.get("Content-Type", "")
    if is_form_upload(request.method):
        return await ingest_multipart(
            body,
            content_type,
            pool_base=pool_base,
            image_uuid=image_uuid,
            limits=limits,
            before_commit=before_commit,
            private=private,
        )
    return await ingest_raw(
        body,
        pool_base=pool_base,
        image_uuid=image_uuid,
        limits=limits,
        content_type=content_type,
        filename=raw_filename(request),
        content_length=request.content_length,
        before_commit=before_commit,
        private=private,
    )


def check_declared_type(content_type: str, limits: IngestLimits) -> None:
    """UNSUPPORTED_TYPE before reading, when a raw body's declared type already says so."""
    declared = content_type.split(";", 1)[0].strip().lower()
    if declared and declared != "application/octet-stream":
        if "svg" in declared or "xml" in declared:
            raise APIError("UNSUPPORTED_TYPE", "SVG and XML files are not accepted.")
        if declared not in limits.allowed_types:
            raise APIError("UNSUPPORTED_TYPE", details={"content_type": declared})


async def ingest_raw(
    body: AsyncIterable[bytes] | WrittenBody,
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
    check_declared_type(content_type, limits)
    check_declared_length(content_length, limits, multipart=False)
    if isinstance(body, WrittenBody) and body.device != pool_base.stat().st_dev:
        body = body.chunks()  # another filesystem: no link possible, stream it over
    upload = Upload(pool_base, image_uuid, limits, private=private)
    try:
        if isinstance(body, WrittenBody):
            upload.adopt(filename, body)
        else:
            upload.open(filename)
            async for chunk in Chunks(body, limits.idle_timeout):
                upload.write(chunk)
                await upload.after_chunk()
        assert upload.file is not None
        if content_length is not None and upload.file.size != content_length:
            raise APIError("INCOMPLETE_UPLOAD")
        await upload.after_chunk(complete=True)
    except BaseException:
        upload.abort()
        raise
    return await upload.commit(when, before_commit)


async def ingest_multipart(
    body: AsyncIterable[bytes] | WrittenBody,
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
    boundary = form_boundary(content_type, field)
    if isinstance(body, WrittenBody):
        followed = await body.followed_part(boundary, pool_base)
        if followed is not None:
            taken = _take_followed(followed, Upload(pool_base, image_uuid, limits, private=private))
            if taken is not None:
                return await taken.commit(when, before_commit)
        body = body.chunks()  # the part is copied out into an incoming file of its own
    upload = Upload(pool_base, image_uuid, limits, private=private)
    try:
        form = FormParser(boundary, upload, field)
        async for chunk in Chunks(body, limits.idle_timeout):
            form.feed(chunk)
            await upload.after_chunk(complete=form.file_done)
        if not form.has_file:
            if form.ended:
                raise APIError("MISSING_FILE", details={"field": field})
            raise APIError("INCOMPLETE_UPLOAD")
        if not form.complete:
            raise APIError("INCOMPLETE_UPLOAD")
        await upload.after_chunk(complete=True)
    except BaseException:
        upload.abort()
        raise
    return await upload.commit(when, before_commit)


def _take_followed(followed: FollowedPart, upload: Upload) -> Upload | None:
    """``upload`` holding the followed part, when the part passes every check of the body."""
    try:
        upload.adopt(followed.filename, followed.file)
        upload.mime = imagecheck.sniff(followed.file.head, upload.limits.allowed_types)
    except APIError:
        followed.discard()  # refused: the body's own parse gives the answer, exactly as always
        return None
    upload.followed = True
    return upload
