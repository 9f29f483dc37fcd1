"""``PUT /api/internal/replicate``: another node pushes one file of an image (move, replica).

The raw body is the file; the query names the target pool, the pool-relative
path, the size and the SHA-256; ``Authorization: Bearer <grant>`` carries the
app's replication grant (``protocol.grants``), which lists the exact files
(path, size, SHA-256) it allows. Order of checks — nothing of the body is read
before they pass: grant (REPLICATION_DENIED, REPLICATION_FORBIDDEN for another
node), path (BAD_REQUEST for a traversal or a non-layout path), the grant lists
that pool and path with that size (REPLICATION_FORBIDDEN) and hash
(CHECKSUM_MISMATCH), the declared length (FILE_TOO_LARGE), pool
(POOL_NOT_ON_NODE), the grant's ledger (REPLICATION_USED for a file it wrote
before, REPLICATION_OVER_CAP past its bytes), a file already at the path
(REPLICATION_EXISTS unless it is this very file), free space (STORAGE_FULL).

The ledger is a Redis hash under the node's own keys (``ledger.GrantLedger``).

Then: the very file already at the path → 200, nothing written (a push
repeated by a retried job, with a fresh grant). Else the body streams into a
temporary file in the pool, hashed and counted as it comes; a short body is
INCOMPLETE_UPLOAD, a wrong hash CHECKSUM_MISMATCH (422), and either way the
temporary file is gone. A good file is fsynced and linked into place (never
over a file another push put there meanwhile): 201.

A replica's grant (``cp``: its copy) is reported when the last of its files
is here: the target, not the source, tells the app the copy is verified
(``_report_copy``), and says in its answer what the app recorded.
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
from redis.exceptions import RedisError

from pixelfox_common import streambody
from pixelfox_common.openapi import raises
from pixelfox_common.streambody import StreamBody
from pixelfox_protocol import grants, layout, links
from pixelfox_protocol.errors import APIError
from pixelfox_protocol.grants import GrantedFile
from pixelfox_protocol.internal import (
    REPLICATE_PATH,
    CopyReport,
    MoveFile,
    ReplicateQuery,
    ReplicateResult,
)
from pixelfox_protocol.layout import UnsafePath

from ..appapi import AppError
from ..upload.node import UploadNode, check_space
from . import files
from .ledger import GrantLedger

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
    "REPLICATION_USED",
    "REPLICATION_OVER_CAP",
    "REPLICATION_EXISTS",
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
        layout.image_file(query.path)
    except UnsafePath as exc:
        raise APIError("BAD_REQUEST", "The path is not a pool-relative image path.") from exc
    granted = grant.file(query.pool_id, query.path)
    if query.sha256 and query.sha256 != granted.sha256:
        sent = {"expected": granted.sha256, "sent": query.sha256}
        raise APIError("CHECKSUM_MISMATCH", details=sent)
    if query.size != granted.size:
        sizes = {"path": query.path, "size": query.size, "granted": granted.size}
        raise APIError("REPLICATION_FORBIDDEN", "The grant names another size.", details=sizes)
    declared = request.content_length
    if declared is not None and declared != granted.size:
        raise APIError("FILE_TOO_LARGE", details={"size": declared, "granted": granted.size})
    pool = await node.pool(query.pool_id)
    await _use(node, grant, granted)
    base = Path(pool.base_path)
    final = links.resolve_file(base, query.path)
    if await asyncio.to_thread(_already_there, final, granted):
        _log("skipped (already there)", query, move_id=grant.move_id, copy_id=grant.copy_id)
        result = _result(query, granted.sha256, stored=False)
        result.copy_state = await _report_copy(node, grant, base)
        return jsonify(result.model_dump()), 200
    check_space(pool, granted.size)
    stored = await _receive(base, final, granted)
    outcome = "stored" if stored else "skipped (written meanwhile)"
    _log(outcome, query, move_id=grant.move_id, copy_id=grant.copy_id)
    result = _result(query, granted.sha256, stored=stored)
    result.copy_state = await _report_copy(node, grant, base)
    return jsonify(result.model_dump()), 201 if stored else 200


async def _report_copy(node: UploadNode, grant: grants.ReplicationGrant, base: Path) -> str:
    """A replica's grant whose every file is here now: report the copy to the app.

    Every file of the grant was claimed in its ledger and, claimed, was either
    hashed while it streamed in or found here equal by hash; each must still be
    here at its size. The report carries each file's size and SHA-256 as
    verified; the app's answer (``verified``) goes back to the source. Any
    failure to report leaves the copy pending: the source's retry, with a fresh
    grant, finds every file here and reports again.
    """
    if not grant.copy_id or node.redis is None or node.client is None:
        return ""
    try:
        claimed = await GrantLedger(node.redis, node.keys, node.settings.node_id, grant).claimed()
    except RedisError as exc:
        log.warning("copy %s not reported: its ledger is unreadable: %s", grant.copy_id, exc)
        return ""
    if len(claimed) < len(grant.files):
        return ""
    if not await asyncio.to_thread(_all_there, base, grant.files):
        return ""
    report = CopyReport(
        files=[MoveFile(path=f.path, size=f.size, sha256=f.sha256) for f in grant.files]
    )
    try:
        recorded = await node.client.copy_verified(grant.copy_id, report)
    except AppError as exc:
        log.warning("copy %s not reported: %s", grant.copy_id, exc)
        return ""
    log.info("copy reported", extra={"copy_id": grant.copy_id, "state": recorded.state})
    return recorded.state


def _all_there(base: Path, granted: tuple[GrantedFile, ...]) -> bool:
    for file in granted:
        try:
            if links.resolve_file(base, file.path).stat().st_size != file.size:
                return False
        except FileNotFoundError:
            return False
    return True


async def _use(node: UploadNode, grant: grants.ReplicationGrant, granted: GrantedFile) -> None:
    """Claim the file in the grant's ledger (``ledger.GrantLedger``)."""
    if node.redis is None:
        raise APIError("UNAVAILABLE", "This node cannot reach Redis to check the grant's use.")
    try:
        await GrantLedger(node.redis, node.keys, node.settings.node_id, grant).claim(granted)
    except RedisError as exc:
        raise APIError("UNAVAILABLE", "This node cannot reach Redis to check the grant.") from exc


def _already_there(final: Path, granted: GrantedFile) -> bool:
    """True for the very file at ``final``; REPLICATION_EXISTS for another one there."""
    try:
        if final.stat().st_size == granted.size and files.sha256_of(final) == granted.sha256:
            return True
    except FileNotFoundError:
        return False
    raise APIError("REPLICATION_EXISTS", details={"path": str(final.name)})


async def _receive(base: Path, final: Path, granted: GrantedFile) -> bool:
    """Stream the body into place; False when the same file landed there meanwhile."""
    size, sha256 = granted.size, granted.sha256
    body = request.body
    if isinstance(body, StreamBody):
        body.max_content_length = None  # counted here against the granted size
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
            if written != sha256:
                raise APIError("CHECKSUM_MISMATCH", details={"expected": sha256, "got": written})
            await asyncio.to_thread(_sync, out)
        if await asyncio.to_thread(files.commit_new, tmp, final):
            return True
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    # Another push put a file there first: fine if it is this one, refused if not.
    return not await asyncio.to_thread(_already_there, final, granted)


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
