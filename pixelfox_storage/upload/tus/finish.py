"""The last byte landed: the same checks, commit and report as a single upload.

The complete data file is handed to ingest as a body already on disk
(:class:`~pixelfox_storage.upload.spooled.BodyFile`, as nginx's spool files
are), with the SHA-256 the PATCHes computed: ingest sniffs it, has libvips
judge its header, fsyncs it and links this very inode into ``original/``;
:func:`~pixelfox_storage.upload.endpoint.ingest_held` writes the outbox record
ahead, reports to the app and spends the token. The answer is the single
upload's (201 ``UploadResult``, or 202 while the app is away), and a refusal
has its codes; a refused file leaves nothing — the upload is removed with it.

A committed upload keeps only its record with that answer until its expiry,
so a client whose final answer was lost learns it by asking again.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from pixelfox_common import ingest
from pixelfox_common.ingest import BeforeCommit, IngestResult
from pixelfox_protocol.errors import APIError

from ..completion import UploadQueued, status_url
from ..endpoint import Admission, ingest_held
from ..spooled import BodyFile
from ..spooled.followedform import FollowedForm
from .uploads import Found, TusUploads


class KnownDigest:
    """What a follower offers a body file: here, the SHA-256 the PATCHes computed."""

    def __init__(self, size: int, sha256: str) -> None:
        self._size = size
        self._sha256 = sha256

    async def sha256(self, size: int) -> str | None:
        return self._sha256 if size == self._size else None

    async def form(self, size: int, boundary: bytes) -> FollowedForm | None:
        return None  # a tus upload is a raw body, never a form


async def commit(tus: TusUploads, found: Found, fd: int) -> tuple[dict[str, Any], int]:
    """Judge, commit and report the complete upload; its answer's body and status."""
    files, info = found.files, found.info
    node = tus.node
    claims = info.upload_claims()
    hold = tus.token_hold(info)
    if os.fstat(fd).st_nlink > 1:
        # Linked into place by a process that died before it recorded the answer;
        # its write-ahead outbox record reports the file to the app.
        answer = UploadQueued(
            image_uuid=claims.image_uuid, status_url=status_url(node.settings, claims.image_uuid)
        ).model_dump()
        await hold.spend(claims.image_uuid)
        await asyncio.to_thread(files.finish, info, {"status": 202, "body": answer})
        return answer, 202
    whole = await tus.digests.at(files.id, fd, info.length)
    tus.digests.forget(files.id)
    try:
        pool = await node.pool(claims.pool_id)
    except APIError:
        await tus.discard(files, info)
        raise
    admission = Admission(claims, node.limits(claims.max_size), pool, multipart=False)
    started = time.perf_counter()
    try:
        with BodyFile(files.data) as body_file:
            body_file.follow = KnownDigest(info.length, whole.hexdigest())

            def receive(before_commit: BeforeCommit) -> Awaitable[IngestResult]:
                return ingest.ingest_raw(
                    body_file,
                    pool_base=Path(pool.base_path),
                    image_uuid=claims.image_uuid,
                    limits=admission.limits,
                    content_type=info.filetype,
                    filename=info.filename,
                    content_length=info.length,
                    before_commit=before_commit,
                    private=claims.private,
                )

            body, status = await ingest_held(node, admission, hold, started, receive, source="tus")
    except APIError:
        # Refused (the token is given back by ingest_held): nothing of it stays.
        await asyncio.to_thread(files.remove)
        raise
    await asyncio.to_thread(files.finish, info, {"status": status, "body": body})
    return body, status
