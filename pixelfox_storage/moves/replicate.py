"""``PUT /api/internal/replicate``: another node pushes one file of an image it moves here.

The raw body is the file; the query names the target pool, the pool-relative
path, the size and the SHA-256; ``Authorization: Bearer <grant>`` carries the
app's replication grant (``protocol.grants``). Order of checks — nothing of the
body is read before they pass: grant (REPLICATION_DENIED, REPLICATION_FORBIDDEN
for another node), path (BAD_REQUEST for a traversal or a non-layout path),
the grant covers that pool and file (REPLICATION_FORBIDDEN), the checksum is
there when the operator requires it (CHECKSUM_REQUIRED) and is the original's
(CHECKSUM_MISMATCH), size (FILE_TOO_LARGE), pool (POOL_NOT_ON_NODE), free space
(STORAGE_FULL).

Then: the same size and hash already at the path → 200, nothing written (a
push repeated after a lost answer). Else the body streams into a temporary
file in the pool, hashed and counted as it comes; a short body is
INCOMPLETE_UPLOAD, a wrong hash CHECKSUM_MISMATCH (422), and either way the
temporary file is gone. A good file is fsynced and renamed into place: 201.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from pathlib import Path
from typing import Any

from quart import Blueprint, current_app, jsonify, request
from quart_schema import document_response, security_scheme, validate_querystring

from pixelfox_common import streambody
from pixelfox_common.openapi import raises
from pixelfox_common.streambody import StreamBody
from pixelfox_protocol import grants, links
from pixelfox_protocol.errors import APIError
from pixelfox_protocol.internal import REPLICATE_PATH, ReplicateQuery, ReplicateResult
from pixelfox_protocol.layout import UnsafePath

from ..upload.node import UploadNode, check_space
from . import files

log = logging.getLogger(__name__)

blueprint = Blueprint("replicate", __name__)
# Chunks are gathered up to this size before one write in a thread.
WRITE_BATCH = 1024 * 1024


def _node() -> UploadNode:
    node: UploadNode = current_app.extensions["upload"]
    return node


@blueprint.route(REPLICATE_PATH, methods=["PUT"])
@security_scheme([{"replicationGrant": []}])
@validate_querystring(ReplicateQuery)
@document_response(ReplicateResult, 201)
@document_response(ReplicateResult, 200)
@raises(
    "REPLICATION_DENIED",
    "REPLICATION_FORBIDDEN",
    "CHECKSUM_REQUIRED",
    "CHECKSUM_MISMATCH",
    "FILE_TOO_LARGE",
    "INCOMPLETE_UPLOAD",
    "POOL_NOT_ON_NODE",
    "STORAGE_FULL",
    "UNAVAILABLE",
)
async def replicate(query_args: ReplicateQuery) -> Any:
    """Store one file of an image moved here from another node (internal: nodes only).

    201: stored and verified. 200: the same file was already there.
    """
    try:
        return await _replicate(_node(), query_args)
    except APIError as exc:
        _log("refused", query_args, code=exc.code)
        # Refused before (or while) reading: read a bounded rest so the sender gets
        # this answer, not a connection reset.
        await streambody.drain(request.body)
        raise


async def _replicate(node: UploadNode, query: ReplicateQuery) -> Any:
    if not node.public_keys:
        raise APIError("UNAVAILABLE", "This node has no key to check replication grants.")
    grant = grants.verify(
        request.headers.get("Authorization"), node.settings.node_id, node.public_keys
    )
    try:
        links.resolve_file(Path("/nonexistent-pool"), query.path)
    except UnsafePath as exc:
        raise APIError("BAD_REQUEST", "The path is not a pool-relative image path.") from exc
    grant.check_file(query.pool_id, query.path)
    expected = grant.expected_sha256(query.path)
    if expected and query.sha256 and query.sha256 != expected:
        raise APIError("CHECKSUM_MISMATCH", details={"expected": expected, "sent": query.sha256})
    sha256 = query.sha256 or expected
    if grant.require_checksum and not sha256:
        raise APIError("CHECKSUM_REQUIRED")
    declared = request.content_length
    if query.size > grant.max_bytes or (declared is not None and declared != query.size):
        raise APIError("FILE_TOO_LARGE", details={"size": query.size, "granted": grant.max_bytes})
    pool = await node.pool(query.pool_id)
    base = Path(pool.base_path)
    final = links.resolve_file(base, query.path)
    if await asyncio.to_thread(_already_there, final, query.size, sha256):
        _log("skipped (already there)", query)
        return jsonify(_result(query, sha256, stored=False).model_dump()), 200
    check_space(pool, query.size)
    written = await _receive(base, final, query.size, sha256)
    _log("stored", query, move_id=grant.move_id)
    return jsonify(_result(query, written, stored=True).model_dump()), 201


def _already_there(final: Path, size: int, sha256: str) -> bool:
    try:
        if final.stat().st_size != size:
            return False
    except FileNotFoundError:
        return False
    return not sha256 or files.sha256_of(final) == sha256


async def _receive(base: Path, final: Path, size: int, sha256: str) -> str:
    body = request.body
    if isinstance(body, StreamBody):
        body.max_content_length = None  # counted here against the declared size
    tmp = await asyncio.to_thread(files.temp_file, base, final)
    digest = hashlib.sha256()
    received = 0
    try:
        with tmp.open("wb") as out:
            pending: list[bytes] = []
            buffered = 0
            async for chunk in body:
                received += len(chunk)
                if received > size:
                    raise APIError("FILE_TOO_LARGE", details={"size": size})
                digest.update(chunk)
                pending.append(chunk)
                buffered += len(chunk)
                if buffered >= WRITE_BATCH:
                    await asyncio.to_thread(out.writelines, pending)
                    pending, buffered = [], 0
            await asyncio.to_thread(out.writelines, pending)
            if received != size:
                raise APIError("INCOMPLETE_UPLOAD", details={"size": size, "received": received})
            written = digest.hexdigest()
            if sha256 and written != sha256:
                raise APIError("CHECKSUM_MISMATCH", details={"expected": sha256, "got": written})
            await asyncio.to_thread(_sync, out)
        await asyncio.to_thread(files.commit, tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return written


def _sync(out: Any) -> None:
    out.flush()
    os.fsync(out.fileno())


def _result(query: ReplicateQuery, sha256: str, *, stored: bool) -> ReplicateResult:
    return ReplicateResult(
        pool_id=query.pool_id, path=query.path, size=query.size, sha256=sha256, stored=stored
    )


def _log(outcome: str, query: ReplicateQuery, **extra: Any) -> None:
    level = logging.WARNING if outcome == "refused" else logging.INFO
    log.log(
        level,
        "replicate %s",
        outcome,
        extra={
            "pool_id": query.pool_id,
            "path": query.path,
            "bytes": query.size,
            "peer": request.remote_addr,
            **extra,
        },
    )
