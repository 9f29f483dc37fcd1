"""``GET /api/internal/copy-file``: another node reads one file of a copy here (a repair).

A scrub on another node found a file of an image damaged or missing on its
pool, asked the app for a repair plan, and got this node's verified copy with a
*read* grant (``protocol.grants``, audience ``copy-read:<this node>``) naming the
exact files (path, size, SHA-256) of that one image. The query names this
node's pool and the pool-relative path. Checks, before a byte is read: grant
(REPLICATION_DENIED; REPLICATION_FORBIDDEN for another node's or a write
grant), path (BAD_REQUEST for a traversal or a non-layout path), the grant lists
that pool and path (REPLICATION_FORBIDDEN), the pool is this node's
(POOL_NOT_ON_NODE), the file is here (NOT_FOUND) at the granted size
(CHECKSUM_MISMATCH: this copy is damaged too, and the reader tries the next).

The body is the file, streamed. The reader checks its SHA-256 against the
grant's before it writes anything, so this node does not hash every read.
There is no ledger of reads: a read grant writes nothing, lapses in 15
minutes, and reads only files of a copy its holder's pool is meant to hold.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from quart import Blueprint, Response, current_app, request
from quart_schema import security_scheme, validate_querystring

from pixelfox_common.openapi import raises
from pixelfox_protocol import grants, layout, links
from pixelfox_protocol.errors import APIError
from pixelfox_protocol.internal import COPY_FILE_PATH, CopyFileQuery
from pixelfox_protocol.layout import UnsafePath

from ..serving import open_regular, stream_opened
from ..upload.node import UploadNode

log = logging.getLogger(__name__)

blueprint = Blueprint("copy_file", __name__)


@blueprint.get(COPY_FILE_PATH)
@security_scheme([{"replicationGrant": []}])
@validate_querystring(CopyFileQuery)
@raises(
    "REPLICATION_DENIED",
    "REPLICATION_FORBIDDEN",
    "BAD_REQUEST",
    "POOL_NOT_ON_NODE",
    "NOT_FOUND",
    "CHECKSUM_MISMATCH",
    "UNAVAILABLE",
)
async def copy_file(query_args: CopyFileQuery) -> Response:
    """One file of this node's verified copy, to a node repairing its own (internal: nodes only).

    The body is the file's bytes (``application/octet-stream``).
    """
    node: UploadNode = current_app.extensions["upload"]
    try:
        return await _serve(node, query_args)
    except APIError as exc:
        log.warning(
            "copy-file refused",
            extra={"pool_id": query_args.pool_id, "path": query_args.path, "code": exc.code},
        )
        raise


async def _serve(node: UploadNode, query: CopyFileQuery) -> Response:
    if not node.public_keys:
        raise APIError("UNAVAILABLE", "This node has no key to check grants.")
    grant = grants.verify(
        request.headers.get("Authorization"), node.settings.node_id, node.public_keys, reads=True
    )
    try:
        layout.image_file(query.path)
    except UnsafePath as exc:
        raise APIError("BAD_REQUEST", "The path is not a pool-relative image path.") from exc
    granted = grant.file(query.pool_id, query.path)
    pool = await node.pool(query.pool_id)
    full = links.resolve_file(Path(pool.base_path), query.path)
    opened = await asyncio.to_thread(open_regular, [full])
    if opened is None:
        raise APIError("NOT_FOUND")
    if opened.size != granted.size:
        opened.close()
        details = {"path": query.path, "size": opened.size, "recorded": granted.size}
        raise APIError("CHECKSUM_MISMATCH", "This node's copy is damaged too.", details=details)
    log.info(
        "copy-file served",
        extra={"pool_id": pool.id, "path": query.path, "bytes": granted.size, "jti": grant.jti},
    )
    headers = {"Content-Type": "application/octet-stream", "Content-Length": str(opened.size)}
    if opened.data is not None:
        opened.close()
        return Response(opened.data, 200, headers)
    response = Response(stream_opened(opened, 0, opened.size), 200, headers)
    response.timeout = None  # a large original over a slow link
    return response
