"""The tus endpoint of a node: ``TUS_PATH`` (OPTIONS, POST) and ``TUS_PATH/<id>`` (HEAD, PATCH,
DELETE, OPTIONS). Every answer carries ``Tus-Resumable``; browsers on the app's origin get
the CORS headers a tus client needs.
"""

from __future__ import annotations

import os
from typing import Any

from quart import Blueprint, Response, current_app, jsonify, request
from quart_schema import document_response, security_scheme

from pixelfox_common import imagecheck, streambody
from pixelfox_common.streambody import StreamBody
from pixelfox_common.web import public_api, raises
from pixelfox_protocol.errors import APIError
from pixelfox_protocol.internal import TUS_PATH, UploadResult

from .. import cors
from ..completion import UploadQueued
from ..node import current_node
from . import creation, protocol
from .append import append
from .finish import commit
from .locks import Holder
from .uploads import Found, TusUploads

UPLOAD_PATH = TUS_PATH + "/<upload_id>"
ALLOWED_METHODS = "POST, HEAD, PATCH, DELETE, OPTIONS"
ALLOWED_HEADERS = (
    "Authorization, Content-Type, X-Request-ID, X-HTTP-Method-Override, Tus-Resumable, "
    "Upload-Length, Upload-Metadata, Upload-Offset, Upload-Checksum, Upload-Defer-Length, "
    "Upload-Concat"
)
EXPOSED_HEADERS = (
    "Location, Upload-Offset, Upload-Length, Upload-Metadata, Upload-Expires, Tus-Resumable, "
    "Tus-Version, Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm, X-Request-ID"
)
REFUSALS = (
    "TUS_VERSION_UNSUPPORTED",
    "TOKEN_MISSING",
    "TOKEN_INVALID",
    "TUS_UPLOAD_NOT_FOUND",
    "TUS_UPLOAD_EXPIRED",
    "TUS_UPLOAD_LOCKED",
)
FINAL_REFUSALS = (
    "UNSUPPORTED_TYPE",
    "INVALID_IMAGE",
    "IMAGE_TOO_LARGE",
    "SESSION_INVALID",
    "STORAGE_FULL",
    "UNAVAILABLE",
)

blueprint = Blueprint("upload_tus", __name__)


def uploads() -> TusUploads:
    tus: TusUploads = current_app.extensions["tus"]
    return tus


@blueprint.after_request
async def _tus_headers(response: Response) -> Response:
    response.headers["Tus-Resumable"] = protocol.VERSION
    response.headers.setdefault("Cache-Control", "no-store")
    origins = cors.allowed_origins(current_node().settings.cors_origin)
    return cors.apply(
        response,
        request,
        origins,
        methods=ALLOWED_METHODS,
        headers=ALLOWED_HEADERS,
        exposed=EXPOSED_HEADERS,
    )


def _empty(status: int, headers: dict[str, str] | None = None) -> Response:
    answer = Response(status=status, headers=headers or {})
    del answer.headers["Content-Type"]
    return answer


@blueprint.route(TUS_PATH, methods=["OPTIONS"], provide_automatic_options=False)
@blueprint.route(UPLOAD_PATH, methods=["OPTIONS"], provide_automatic_options=False)
@public_api
async def discovery(upload_id: str = "") -> Response:
    """tus discovery (and the CORS preflight): version, extensions, size limit. No token needed."""
    return _empty(204, protocol.discovery_headers(uploads().max_size))


@blueprint.route(TUS_PATH, methods=["POST"])
@public_api
@security_scheme([{"uploadToken": []}])
@document_response(UploadResult, 201)
@raises(
    "TUS_VERSION_UNSUPPORTED",
    "TUS_CONTENT_TYPE",
    "TOKEN_MISSING",
    "TOKEN_INVALID",
    "TOKEN_EXPIRED",
    "TOKEN_USED",
    "TOKEN_WRONG_NODE",
    "POOL_NOT_ON_NODE",
    "FILE_TOO_LARGE",
    "UNSUPPORTED_TYPE",
    "INVALID_FILENAME",
    "TUS_UPLOAD_LOCKED",
    "TUS_CHECKSUM_UNSUPPORTED",
    "TUS_CHECKSUM_MISMATCH",
    *FINAL_REFUSALS,
)
async def create() -> Any:
    """Create a resumable upload with a session's upload token (``Upload-Length``, optional
    ``Upload-Metadata`` with ``filename`` and ``filetype``); 201 with its ``Location``.

    With a body (``application/offset+octet-stream``) its bytes are the upload's
    first (creation-with-upload); a body that completes it answers like the last PATCH.
    """
    return await _refusing_early(_create)


async def _create() -> Any:
    protocol.check_version(request.headers)
    with_body = _has_body()
    if with_body:
        _check_chunk_type()
    tus = uploads()
    found, new = await creation.create(tus, request.headers.get("Authorization"), request.headers)
    headers = {"Location": f"{TUS_PATH}/{found.files.id}", **_expiry(found)}
    if not with_body and found.info.length > 0:
        return _empty(201, headers)
    if not new:
        # Sent again (its answer was lost): the upload stands where it stands; the
        # client goes on from the offset it is told, as after any creation with data.
        await streambody.drain(request.body)
        return _empty(201, {**headers, "Upload-Offset": str(_stands_at(found))})
    # Data to append, or an empty file: complete at once, judged like any other.
    return await _write(tus, found, offset=0, status=201, headers=headers)


def _stands_at(found: Found) -> int:
    try:
        return found.files.data.stat().st_size
    except FileNotFoundError:
        return found.info.length if found.info.finished is not None else 0


@blueprint.route(UPLOAD_PATH, methods=["HEAD"])
@public_api
@security_scheme([{"uploadToken": []}])
@raises(*REFUSALS)
async def offset(upload_id: str) -> Response:
    """Where the upload stands: ``Upload-Offset`` (durable on disk) and ``Upload-Length``."""
    tus, found = await _own(upload_id)

    async def look(holder: Holder | None) -> int:
        info = await tus.reload(found)
        if info.finished is not None:
            return info.length
        if holder is None:
            raise APIError("TUS_UPLOAD_NOT_FOUND")
        await _refuse_expired(tus, found)
        size = os.fstat(holder.fd).st_size
        if size == info.length:
            await commit(tus, found, holder.fd)  # a process died before it could
        return size

    at = await tus.locked(found, look)
    info = found.info
    headers = {"Upload-Offset": str(at), "Upload-Length": str(info.length), **_expiry(found)}
    if info.metadata:
        headers["Upload-Metadata"] = info.metadata
    return _empty(200, headers)


@blueprint.route(UPLOAD_PATH, methods=["PATCH"])
@public_api
@security_scheme([{"uploadToken": []}])
@document_response(UploadResult, 201)
@document_response(UploadQueued, 202)
@raises(
    *REFUSALS,
    "TUS_CONTENT_TYPE",
    "TUS_OFFSET_MISMATCH",
    "TUS_CHECKSUM_UNSUPPORTED",
    "TUS_CHECKSUM_MISMATCH",
    "FILE_TOO_LARGE",
    "INCOMPLETE_UPLOAD",
    *FINAL_REFUSALS,
)
async def patch(upload_id: str) -> Any:
    """Append the body at ``Upload-Offset``: 204 with the new offset, or — with the last
    byte — the single upload's answer (201 ``UploadResult``, 202 while the app is away)."""
    return await _refusing_early(lambda: _patch(upload_id))


@blueprint.route(UPLOAD_PATH, methods=["POST"])
@public_api
async def overridden(upload_id: str) -> Any:
    """``X-HTTP-Method-Override: PATCH`` or ``DELETE`` for clients that cannot send those."""
    method = request.headers.get("X-HTTP-Method-Override", "").upper()
    if method == "PATCH":
        return await _refusing_early(lambda: _patch(upload_id))
    if method == "DELETE":
        return await terminate(upload_id)
    raise APIError("METHOD_NOT_ALLOWED")


async def _patch(upload_id: str) -> Any:
    protocol.check_version(request.headers)
    _check_chunk_type()
    at = protocol.parse_size(request.headers.get("Upload-Offset"), "Upload-Offset")
    tus, found = await _own(upload_id)
    return await _write(tus, found, offset=at, status=204, headers=_expiry(found))


@blueprint.route(UPLOAD_PATH, methods=["DELETE"])
@public_api
@security_scheme([{"uploadToken": []}])
@raises(*REFUSALS)
async def terminate(upload_id: str) -> Response:
    """Termination: the upload and its bytes go, its token may be used again. A committed
    upload's image stays (images are deleted through the app); only its record goes."""
    tus, found = await _own(upload_id)

    async def drop(holder: Holder | None) -> None:
        info = await tus.reload(found)
        if holder is None and info.finished is None:
            raise APIError("TUS_UPLOAD_NOT_FOUND")
        await tus.discard(found.files, info)

    await tus.locked(found, drop)
    return _empty(204)


async def _write(
    tus: TusUploads, found: Found, *, offset: int, status: int, headers: dict[str, str]
) -> Any:
    """Append this request's body at ``offset``; commit when it completes the upload."""
    checksum = protocol.parse_checksum(request.headers.get("Upload-Checksum"))
    body = request.body
    if isinstance(body, StreamBody):
        body.max_content_length = None  # counted against Upload-Length instead

    async def write(holder: Holder | None) -> tuple[int, tuple[dict[str, Any], int] | None]:
        info = await tus.reload(found)
        if info.finished is not None:
            return _finished(info.finished, info.length, offset)
        if holder is None:
            raise APIError("TUS_UPLOAD_NOT_FOUND")
        await _refuse_expired(tus, found)
        size = os.fstat(holder.fd).st_size
        if offset != size:
            raise APIError(
                "TUS_OFFSET_MISMATCH",
                details={"offset": size, "sent": offset},
                headers={"Upload-Offset": str(size)},
            )
        if size < info.length:
            try:
                size = await append(
                    tus,
                    found,
                    holder,
                    body,
                    content_length=request.content_length,
                    checksum=checksum,
                )
            except imagecheck.ImageRejected:
                # Not an image we take: nothing of it stays, as with a single upload.
                await tus.discard(found.files, info)
                raise
            except APIError as exc:
                raise _with_offset(exc, os.fstat(holder.fd).st_size) from None
        if size < info.length:
            return size, None
        return size, await commit(tus, found, holder.fd)

    at, final = await tus.locked(found, write)
    headers = {**headers, "Upload-Offset": str(at)}
    if final is None:
        return _empty(status, headers)
    answer, code = final
    return jsonify(answer), code, headers


async def _own(upload_id: str) -> tuple[TusUploads, Found]:
    """The upload this request names, if it speaks tus 1.0 and carries the upload's token."""
    protocol.check_version(request.headers)
    tus = uploads()
    found = await tus.find(upload_id)
    tus.authorize(found.info, request.headers.get("Authorization"))
    return tus, found


def _finished(
    finished: dict[str, Any], length: int, offset: int
) -> tuple[int, tuple[dict[str, Any], int]]:
    """A committed upload: the answer again to a last chunk sent again, else where it stands."""
    if offset != length or (request.content_length or 0) > 0:
        raise APIError(
            "TUS_OFFSET_MISMATCH",
            details={"offset": length, "sent": offset},
            headers={"Upload-Offset": str(length)},
        )
    return length, (finished["body"], int(finished["status"]))


async def _refuse_expired(tus: TusUploads, found: Found) -> None:
    if tus.expired(found.info):
        await tus.discard(found.files, found.info)
        raise APIError("TUS_UPLOAD_EXPIRED")


def _with_offset(error: APIError, at: int) -> APIError:
    error.headers.setdefault("Upload-Offset", str(at))
    return error


def _expiry(found: Found) -> dict[str, str]:
    return {"Upload-Expires": protocol.http_date(found.info.expires)}


def _has_body() -> bool:
    length = request.content_length
    return (length is not None and length > 0) or "Transfer-Encoding" in request.headers


def _check_chunk_type() -> None:
    sent = request.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    if sent != protocol.CHUNK_TYPE:
        raise APIError("TUS_CONTENT_TYPE", details={"content_type": sent[:127]})


async def _refusing_early(handler: Any) -> Any:
    try:
        return await handler()
    except APIError:
        # Refused before (or while) the body was read: read a bounded rest of it
        # so the client gets this answer, not a connection reset.
        await streambody.drain(request.body)
        raise
