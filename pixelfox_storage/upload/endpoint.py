"""``/api/internal/upload``: the browser (or a script) uploads one image straight to this node.

- ``POST`` multipart/form-data with the image in field ``file`` (the seed's curl
  example), or ``PUT`` the raw image with its ``Content-Type`` (scripts, CLI; an
  optional ``Content-Disposition: attachment; filename="…"`` names it);
- ``Authorization: Bearer <token>`` from ``POST /api/v1/upload/sessions`` on the app;
- ``HEAD`` / ``OPTIONS`` answer 204 (health checks, CORS preflight).

Order of checks — nothing of the body is consumed before the token passed:
token (TOKEN_*), declared length (FILE_TOO_LARGE), pool (POOL_NOT_ON_NODE),
free space (STORAGE_FULL), single use (TOKEN_USED); then the body streams
through :func:`pixelfox_common.ingest.receive`. Answers: 201 ``UploadResult`` when the app
recorded the image, 202 ``{image_uuid, status_url}`` when the app could not be
reached and the completion waits in the node's outbox.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quart import Blueprint, Response, g, jsonify, request
from quart_schema import document_response, security_scheme

from pixelfox_common import ingest, logs, metrics, streambody
from pixelfox_common.ingest import BeforeCommit, IngestResult, WrittenBody
from pixelfox_common.web import public_api, raises
from pixelfox_protocol.errors import APIError
from pixelfox_protocol.internal import UPLOAD_PATH, PoolInfo, UploadCompletion, UploadResult
from pixelfox_protocol.tokens import UploadClaims

from .. import usage
from . import cors, token_check
from .completion import UploadQueued, report
from .node import APP_TIMEOUT_TOTAL, UploadNode, check_space, current_node

log = logging.getLogger(__name__)

blueprint = Blueprint("upload", __name__)
blueprint.after_request(cors.for_upload)

# Extra wait before the outbox loop may deliver a write-ahead record itself.
WRITE_AHEAD_MARGIN = 5.0


@blueprint.route(UPLOAD_PATH, methods=["HEAD", "OPTIONS"], provide_automatic_options=False)
@public_api
async def probe() -> Response:
    """Health check and CORS preflight of the upload URL: 204, no token needed."""
    empty = Response(status=204)
    del empty.headers["Content-Type"]
    return empty


@blueprint.route(UPLOAD_PATH, methods=["POST", "PUT"], provide_automatic_options=False)
@public_api
@security_scheme([{"uploadToken": []}])
@document_response(UploadResult, 201)
@document_response(UploadQueued, 202)
@raises(
    "TOKEN_MISSING",
    "TOKEN_INVALID",
    "TOKEN_EXPIRED",
    "TOKEN_USED",
    "TOKEN_WRONG_NODE",
    "POOL_NOT_ON_NODE",
    "FILE_TOO_LARGE",
    "UNSUPPORTED_TYPE",
    "INVALID_IMAGE",
    "IMAGE_TOO_LARGE",
    "MISSING_FILE",
    "INCOMPLETE_UPLOAD",
    "INVALID_FILENAME",
    "SESSION_INVALID",
    "STORAGE_FULL",
    "NO_STORAGE",
    "UNAVAILABLE",
)
async def upload() -> Any:
    """Store one image: multipart field ``file`` by POST (the seed's curl example), raw body by PUT.

    201: the app recorded the image. 202: the app could not be reached; the node
    keeps the file and reports it later — poll ``status_url``.
    """
    try:
        return await _upload()
    except APIError:
        # Refused before (or while) the body was read: read a bounded rest of it
        # so the client gets this answer, not a connection reset.
        await streambody.drain(request.body)
        raise


async def _upload() -> Any:
    node = current_node()
    started = time.perf_counter()
    admission = await admit(
        node, request.headers.get("Authorization"), request.method, request.content_length
    )
    return await store(node, admission, started)


@dataclass(frozen=True)
class Admission:
    """An upload whose headers passed every check: it may send its body."""

    claims: UploadClaims
    limits: ingest.IngestLimits
    pool: PoolInfo
    multipart: bool


async def admit(
    node: UploadNode, authorization: str | None, method: str, content_length: int | None
) -> Admission:
    """Every check that needs no byte of the body, in the documented order (not single use)."""
    claims = token_check.verify(authorization, node.settings.node_id, node.public_keys)
    logs.bind_request_id(claims.request_id)
    logs.bind(user_id=claims.user_id, pool_id=claims.pool_id, image_uuid=claims.image_uuid)
    multipart = ingest.is_form_upload(method)
    limits = node.limits(claims.max_size)
    ingest.check_declared_length(content_length, limits, multipart=multipart)
    pool = await node.pool(claims.pool_id)
    if not pool.is_active:
        raise APIError("NO_STORAGE", details={"pool_id": pool.id})
    check_space(pool, min(claims.max_size, content_length or claims.max_size))
    return Admission(claims, limits, pool, multipart)


async def store(
    node: UploadNode,
    admission: Admission,
    started: float,
    written: WrittenBody | None = None,
    *,
    hold: token_check.JtiHold | None = None,
) -> Any:
    """Take the token, ingest the body (the request's, or ``written``), report it to the app.

    ``hold``: the token is held already (nginx's pre-check, taken over by the handover).
    """
    claims = admission.claims
    assert node.redis is not None
    if hold is None:
        hold = token_check.JtiHold(node.redis, node.keys, claims)
        await hold.take()

    def receive(before_commit: BeforeCommit) -> Awaitable[IngestResult]:
        return ingest.receive(
            request,
            pool_base=Path(admission.pool.base_path),
            image_uuid=claims.image_uuid,
            limits=admission.limits,
            private=claims.private,
            before_commit=before_commit,
            written=written,
        )

    # Where the bytes came from: the request itself, or a file nginx spooled.
    source = "streamed" if written is None else "spooled"
    body, status = await ingest_held(node, admission, hold, started, receive, source=source)
    return jsonify(body), status


async def ingest_held(
    node: UploadNode,
    admission: Admission,
    hold: token_check.JtiHold,
    started: float,
    receive: Callable[[BeforeCommit], Awaitable[IngestResult]],
    *,
    source: str,
) -> tuple[dict[str, Any], int]:
    """Ingest with the token held by ``hold``; the answer's body and status (201 or 202).

    ``receive(before_commit)`` runs the ingest. The outbox record is written
    ahead of the commit, the app hears of the file, and the token is spent —
    or, when nothing was stored, given back. Also the end of a resumable upload
    (``upload.tus``), whose hold has lasted since the upload was created.
    """
    claims = admission.claims
    request_id: str = g.request_id
    queued: list[Path] = []

    async def write_ahead(result: IngestResult) -> None:
        # The outbox record exists before the file does (see outbox), so no
        # committed file is ever unaccounted for; no record, no commit. Its first
        # delivery waits until this request's own attempt has surely ended.
        completion = _completion(claims, result)
        grace = APP_TIMEOUT_TOTAL + WRITE_AHEAD_MARGIN
        try:
            queued.append(
                await asyncio.to_thread(
                    node.outbox.put, completion, request_id, delay=grace, token=claims.token
                )
            )
        except OSError as exc:
            log.error("outbox record cannot be written (%s): upload refused", exc)
            raise APIError("UNAVAILABLE", "This node cannot record uploads right now.") from exc

    try:
        with metrics.upload_in_flight():
            result = await receive(write_ahead)
    except BaseException as exc:
        # Not stored: the token may be tried again (see grant). Shielded from our
        # own cancellation (client gone) by running as a kept task.
        node.keep(hold.release(), "upload-release-jti")
        for record in queued:
            node.outbox.done(record)
        _log_refusal(exc, claims, started)
        raise
    metrics.count_bytes_ingested(result.size, claims.pool_id)
    usage.note_ingested(claims.pool_id, result.size)
    # The file is committed: from here on the upload is the node's duty, even if
    # the client goes away, so the rest runs as a task of its own.
    finish = node.keep(
        _finish(node, hold, claims, result, request_id, queued[0] if queued else None),
        f"upload-finish-{claims.image_uuid}",
    )
    body, status = await asyncio.shield(finish)
    seconds = time.perf_counter() - started
    log.info(
        "upload stored",
        extra={
            "node_id": node.settings.node_id,
            "pool_id": claims.pool_id,
            "user_id": claims.user_id,
            "image_uuid": claims.image_uuid,
            "bytes": result.size,
            # streamed, spooled (nginx wrote it to disk first) or tus (resumable).
            "body": source,
            # Hashed (and parsed) while nginx wrote it: see upload.spooled.follower.
            "followed": result.followed,
            "form": "multipart" if admission.multipart else "raw",
            "mime": result.mime,
            "status": status,
            "seconds": round(seconds, 3),
            "check_seconds": round(result.check_seconds, 3),
            "commit_seconds": round(result.commit_seconds, 3),
            "mb_per_s": round(result.size / 1e6 / seconds, 1) if seconds > 0 else None,
        },
    )
    return body, status


def _completion(claims: UploadClaims, result: IngestResult) -> UploadCompletion:
    return result.completion(
        session_id=claims.session_id, image_uuid=claims.image_uuid, pool_id=claims.pool_id
    )


async def _finish(
    node: UploadNode,
    hold: token_check.JtiHold,
    claims: UploadClaims,
    result: IngestResult,
    request_id: str,
    queued: Path | None,
) -> tuple[dict[str, Any], int]:
    assert node.client is not None
    try:
        body, status = await report(
            node.client,
            node.settings,
            node.outbox,
            _completion(claims, result),
            request_id,
            result.full_path,
            queued,
            token=claims.token,
        )
    except APIError as exc:
        # The file is gone again. Refused by the app: the token is spent. Nowhere
        # to keep the completion (UNAVAILABLE): the client may try again.
        await (hold.release() if exc.code == "UNAVAILABLE" else hold.spend(claims.image_uuid))
        raise
    await hold.spend(claims.image_uuid)
    if status == 202:
        node.outbox_wake.set()
    return body, status


def _log_refusal(exc: BaseException, claims: UploadClaims, started: float) -> None:
    code = exc.code if isinstance(exc, APIError) else type(exc).__name__
    log.warning(
        "upload not stored: %s",
        code,
        extra={
            "pool_id": claims.pool_id,
            "user_id": claims.user_id,
            "image_uuid": claims.image_uuid,
            "code": code,
            "seconds": round(time.perf_counter() - started, 3),
        },
    )
