"""Creating a resumable upload (``POST`` on the tus endpoint) with a session's upload token.

Every check of a single upload that needs no byte of the body runs first, in
its order and with its codes (:func:`~pixelfox_storage.upload.endpoint.admit`:
token, ``Upload-Length`` against the token's ``max_size`` — 413 before any
byte —, pool, free space), then the file's declared name and type from
``Upload-Metadata`` (as a raw PUT's ``Content-Type`` and name are), then the
token's single use: it is held for the upload's life, ``busy:tus:<id>``.

The same token always names the same upload, so a creation sent again (its
answer was lost) finds the upload it made instead of TOKEN_USED, even once
the token itself has expired.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict
from pathlib import Path

from redis.exceptions import RedisError
from werkzeug.datastructures import Headers

from pixelfox_common import imagecheck, ingest
from pixelfox_protocol.errors import APIError

from .. import token_check
from ..endpoint import admit
from . import protocol
from .state import UploadFiles, UploadInfo, token_digest, tus_dir, upload_id
from .uploads import Found, TusUploads


async def create(
    tus: TusUploads, authorization: str | None, headers: Headers
) -> tuple[Found, bool]:
    """The upload this request's token creates, and whether it is new."""
    token = token_check.bearer_token(authorization)
    existing = await _existing(tus, upload_id(token), token)
    if existing is not None:
        return existing, False
    if "Upload-Defer-Length" in headers:
        raise APIError("BAD_REQUEST", "Send Upload-Length: a deferred length is not supported.")
    raw_length = headers.get("Upload-Length")
    length = protocol.parse_size(raw_length, "Upload-Length") if raw_length is not None else None
    admission = await admit(tus.node, authorization, "PUT", length)
    if length is None:
        raise APIError("BAD_REQUEST", "Upload-Length is required.")
    if length > tus.max_size:
        raise APIError(
            "FILE_TOO_LARGE",
            f"The file is larger than this node takes ({tus.max_size} bytes).",
            details={"max_size": tus.max_size},
        )
    raw_metadata = headers.get("Upload-Metadata", "")
    metadata = protocol.parse_metadata(raw_metadata)
    filename = imagecheck.clean_filename(protocol.first_of(metadata, protocol.NAME_KEYS))
    imagecheck.check_extension(filename, admission.limits.allowed_types)
    filetype = protocol.first_of(metadata, protocol.TYPE_KEYS)
    ingest.check_declared_type(filetype, admission.limits)
    files = UploadFiles(tus_dir(Path(admission.pool.base_path)), upload_id(token))
    now = time.time()
    info = UploadInfo(
        id=files.id,
        pool_id=admission.pool.id,
        length=length,
        created=now,
        expires=now + tus.expiry_seconds,
        token_sha256=token_digest(token),
        hold=f"busy:tus:{files.id}",
        claims=asdict(admission.claims),
        filename=filename,
        filetype=filetype,
        metadata=raw_metadata,
    )
    if files.id in tus.creating:
        raise APIError("TUS_UPLOAD_LOCKED", headers={"Retry-After": "1"})
    tus.creating.add(files.id)
    try:
        await _make(tus, files, info)
    finally:
        tus.creating.discard(files.id)
    return Found(admission.pool, files, info), True


async def _existing(tus: TusUploads, uid: str, token: str) -> Found | None:
    try:
        found = await tus.find(uid)
    except APIError:
        return None
    tus.authorize(found.info, f"Bearer {token}")
    return found


async def _make(tus: TusUploads, files: UploadFiles, info: UploadInfo) -> None:
    hold = tus.token_hold(info)
    try:
        await hold.take()
    except APIError as exc:
        # Our own value: a creation that died before its record was written.
        if exc.code != "TOKEN_USED" or not await _held_by(tus, hold):
            raise
    try:
        # Whatever such a creation left (a data file without a record) goes first.
        await asyncio.to_thread(files.remove)
        await asyncio.to_thread(files.create, info)
    except BaseException as exc:
        tus.node.keep(hold.release(), "tus-release-jti")
        await asyncio.to_thread(files.remove)
        if isinstance(exc, OSError):
            raise APIError("INTERNAL", "The upload could not be created on disk.") from exc
        raise


async def _held_by(tus: TusUploads, hold: token_check.JtiHold) -> bool:
    assert tus.node.redis is not None
    try:
        value = await tus.node.redis.get(hold.key)
    except RedisError as exc:
        raise APIError("UNAVAILABLE") from exc
    return value is not None and value.decode() == hold.value
