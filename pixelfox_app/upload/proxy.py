"""Proxy mode: the app takes the upload itself and writes it into a pool on this host.

The seed's old path, kept for the single-host appliance and as the baseline
direct upload is measured against. It is open only while the operator has
switched direct upload off (else PROXY_UPLOAD_DISABLED), and it judges the
bytes with the very call the nodes make (:func:`pixelfox_common.ingest.receive`), then
records the image through the same completion code as a node's report.

Two ways in, so that a client behaves the same in both modes:

- logged in (session cookie or ``pf_`` API token): the usual checks run here
  (rate limits, size, type, pool) and a session is opened for this request;
- ``Authorization: Bearer <upload token>`` from a session answered while proxy
  mode was on (its ``upload_url`` points here): the checks ran when it was issued.

``POST`` takes multipart/form-data field ``file``; ``PUT`` takes the raw image.
A logged-in upload takes ``?visibility=public|unlisted|private`` (default: the
user's default visibility);
a token's session already has its visibility.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from quart import Blueprint, current_app, g, jsonify, request
from redis.asyncio import Redis

from pixelfox_common import ingest
from pixelfox_common.ingest import IngestResult
from pixelfox_common.kept import KeptTasks
from pixelfox_common.streambody import drain
from pixelfox_protocol import tokens
from pixelfox_protocol.errors import APIError
from pixelfox_protocol.internal import UploadResult
from pixelfox_protocol.keys import JTI_LEEWAY, RedisKeys

from ..auth import public
from ..auth.current import bearer_value, current_user
from ..auth.tokens import looks_like_api_token
from ..config import AppSettings
from ..images.urls import PROXY_UPLOAD_PATH
from ..models import UploadSession, UploadSessionState, User, Visibility
from ..nodes import node_of
from .completion import complete_upload
from .policy import UploadPolicy
from .sessions import SessionRequest, open_session
from .token_keys import public_keys

log = logging.getLogger(__name__)
blueprint = Blueprint("proxy_upload", __name__)

# Work that must finish although its request is gone.
_KEPT = KeptTasks()


@dataclass
class ProxyAdmission:
    """What this request may store, and what to undo if it does not."""

    session: UploadSession
    # A session opened by this request is deleted again when the upload fails.
    opened_here: bool
    jti_key: str = ""


def _redis() -> Redis:
    redis: Redis = current_app.extensions["redis"]
    return redis


def _settings() -> AppSettings:
    settings: AppSettings = current_app.config["PIXELFOX"]
    return settings


def _visibility() -> Visibility | None:
    raw = request.args.get("visibility")
    if raw is None:
        return None  # the user's default
    try:
        return Visibility(raw)
    except ValueError as exc:
        choices = ", ".join(v.value for v in Visibility)
        raise APIError("VALIDATION_ERROR", f"visibility: one of {choices}") from exc


async def _admit_by_login(policy: UploadPolicy, multipart: bool) -> ProxyAdmission:
    user: User | None = await current_user()
    if user is None:
        raise APIError("AUTH_REQUIRED")
    if not user.is_active:
        raise APIError("FORBIDDEN", "This account is disabled.")
    if policy.direct:
        raise APIError("PROXY_UPLOAD_DISABLED")
    visibility = _visibility()
    length = request.content_length
    limits = policy.ingest_limits(policy.max_bytes)
    ingest.check_declared_length(length, limits, multipart=multipart)
    # The size is known only once the body is in; the declared length (which
    # includes a little multipart framing) or else the operator's limit caps it.
    size = min(length, policy.max_bytes) if length else policy.max_bytes
    wanted = SessionRequest(
        file_size=max(1, size),
        filename="" if multipart else ingest.raw_filename(request),
        content_type="" if multipart else request.headers.get("Content-Type", ""),
        visibility=visibility,
    )
    session = (await open_session(user, wanted, policy, with_token=False)).session
    return ProxyAdmission(session=session, opened_here=True)


def _session_id_of(token: str) -> uuid.UUID:
    # Only to find the session; the signature is checked right after, with the
    # node id of the session's pool as the audience.
    try:
        payload = jwt.decode(token, options={"verify_signature": False})
        return uuid.UUID(str(payload["sid"]))
    except (jwt.PyJWTError, KeyError, ValueError) as exc:
        raise APIError("TOKEN_INVALID") from exc


async def _admit_by_token(token: str, policy: UploadPolicy) -> ProxyAdmission:
    settings = _settings()
    if not settings.token_signing_key.strip():
        raise APIError("UNAVAILABLE", "Uploads are not configured: the signing key is missing.")
    session = await UploadSession.get_or_none(id=_session_id_of(token)).select_related(
        "pool", "user"
    )
    if session is None:
        raise APIError("TOKEN_INVALID")
    claims = tokens.verify(
        token, node_of(session.pool), tokens.parse_public_keys(public_keys(settings))
    )
    if (claims.jti, claims.image_uuid) != (session.token_id, str(session.image_uuid)):
        raise APIError("TOKEN_INVALID")
    if policy.direct:
        raise APIError("PROXY_UPLOAD_DISABLED")
    if not session.user.is_active:
        raise APIError("FORBIDDEN", "This account is disabled.")
    if session.state != UploadSessionState.OPEN:
        raise APIError("TOKEN_USED")
    if not Path(session.pool.base_path).is_dir():
        raise APIError("NO_STORAGE", "The session's pool is not on this host.")
    ingest.check_declared_length(
        request.content_length,
        policy.ingest_limits(session.max_size),
        multipart=ingest.is_form_upload(request.method),
    )
    # Single use while the body streams, like a node's jti hold.
    key = RedisKeys(settings.redis_prefix).node_token_jti(node_of(session.pool), claims.jti)
    ttl = max(1, claims.expires_at - int(time.time()) + JTI_LEEWAY)
    if not await _redis().set(key, "busy", nx=True, ex=ttl):
        raise APIError("TOKEN_USED")
    return ProxyAdmission(session=session, opened_here=False, jti_key=key)


async def _undo(admission: ProxyAdmission, result: IngestResult | None) -> None:
    """Leave nothing behind: no file, no session this request opened, the token free again."""
    if result is not None:
        result.full_path.unlink(missing_ok=True)
    if admission.opened_here:
        await UploadSession.filter(id=admission.session.id).delete()
    if admission.jti_key:
        await _redis().delete(admission.jti_key)


async def _record(admission: ProxyAdmission, result: IngestResult) -> UploadResult:
    session = admission.session
    completion = result.completion(
        session_id=str(session.id),
        image_uuid=str(session.image_uuid),
        pool_id=session.pool.id,
        fallback_filename=session.filename,
    )
    try:
        recorded = await complete_upload(completion, node_id=None)
    except BaseException:
        # Unrecorded means unacknowledged: the file must not stay.
        await _undo(admission, result)
        raise
    if admission.jti_key:
        await _redis().set(admission.jti_key, f"used:{session.image_uuid}", keepttl=True)
    return recorded


@blueprint.route(PROXY_UPLOAD_PATH, methods=["POST", "PUT"])
@public  # a login or an upload token is checked inside: either may carry the request
async def proxy_upload() -> Any:
    """Upload through the app itself (only while direct upload is switched off)."""
    try:
        return await _proxy_upload()
    except APIError:
        await drain(request.body)
        raise


async def _proxy_upload() -> Any:
    policy = await UploadPolicy.load()
    multipart = ingest.is_form_upload(request.method)
    bearer = bearer_value()
    if bearer is not None and not looks_like_api_token(bearer):
        admission = await _admit_by_token(bearer, policy)
    else:
        admission = await _admit_by_login(policy, multipart)
    try:
        result = await ingest.receive(
            request,
            pool_base=Path(admission.session.pool.base_path),
            image_uuid=str(admission.session.image_uuid),
            limits=policy.ingest_limits(admission.session.max_size),
            private=admission.session.visibility == Visibility.PRIVATE,
        )
    except BaseException:
        await asyncio.shield(_KEPT.keep(_undo(admission, None), "proxy-upload-undo"))
        raise
    # The file is in place: recording it must finish even if the client leaves now.
    recorded = await asyncio.shield(_KEPT.keep(_record(admission, result), "proxy-upload-record"))
    log.info(
        "proxy upload stored image=%s pool=%s bytes=%s request=%s",
        recorded.image_uuid,
        admission.session.pool.id,
        result.size,
        g.get("request_id"),
    )
    return jsonify(recorded.model_dump()), 201
