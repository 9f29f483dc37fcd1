"""Turning a finished upload into an Image, once, and queueing its processing.

Used by nodes (the internal completion API) and by the app's own proxy
upload, so both paths create images and jobs the same way. Completion is
idempotent: a node's outbox may send the same completion again after a lost
answer and gets the same result, and nothing is created twice.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from quart import current_app, g
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from pixelfox_protocol import layout
from pixelfox_protocol.errors import APIError
from pixelfox_protocol.internal import UploadCompletion, UploadResult
from pixelfox_protocol.layout import UnsafePath

from ..config import AppSettings
from ..images import urls
from ..models import (
    Image,
    ImageState,
    StoragePool,
    UploadSession,
    UploadSessionState,
    Visibility,
)
from ..nodequeue import enqueue_backup, enqueue_processing
from ..nodes import node_of
from .policy import is_markup

log = logging.getLogger(__name__)

# A token is checked when its upload *starts*; a big file on a slow line, or a
# node's outbox retrying through an app outage, may complete long after the
# token expired. Sessions older than this past their expiry are refused.
COMPLETION_GRACE = timedelta(hours=24)
_SHORT_ID_BYTES = 6  # 8 URL-safe characters, 2^48 values
_ATTEMPTS = 5


def new_short_id() -> str:
    return secrets.token_urlsafe(_SHORT_ID_BYTES)


def _same_uuid(text: str, expected: uuid.UUID) -> bool:
    try:
        return uuid.UUID(text) == expected
    except ValueError:
        return False


def check_original_path(text: str, image_uuid: uuid.UUID, visibility: str) -> None:
    """``text`` is the original of ``image_uuid`` in the subtree its visibility says."""
    # Only the layout's own shape is accepted: [private/]original/YYYY/MM/DD/<uuid>.<ext>.
    try:
        path = layout.check(text)
    except UnsafePath as exc:
        raise APIError("BAD_REQUEST", "The path is not a pool-relative original path.") from exc
    if path.parts[0] != "original" or not _same_uuid(path.stem, image_uuid):
        raise APIError("BAD_REQUEST", "The path is not this image's original.")
    # The session, not the node, says where the file belongs: a private upload
    # outside private/ would be public by URL, a public one inside it unreachable.
    private = visibility == Visibility.PRIVATE
    if layout.is_private(text) != private:
        raise APIError("VISIBILITY_MISMATCH", details={"visibility": visibility, "path": text})


def _check_path(completion: UploadCompletion, session: UploadSession) -> None:
    check_original_path(completion.path, session.image_uuid, str(session.visibility))


def result_for(image: Image, settings: AppSettings) -> UploadResult:
    return UploadResult(
        image_uuid=str(image.uuid),
        view_url=urls.view_url(image.short_id, settings),
        status_url=urls.status_url(str(image.uuid), settings),
    )


async def _load_session(session_id: str) -> UploadSession:
    try:
        sid = uuid.UUID(session_id)
    except ValueError as exc:
        raise APIError("SESSION_INVALID") from exc
    session = await UploadSession.get_or_none(id=sid).select_related("pool", "user")
    if session is None:
        raise APIError("SESSION_INVALID")
    return session


def _check_session(
    session: UploadSession, completion: UploadCompletion, node_id: str | None
) -> None:
    pool: StoragePool = session.pool
    if node_id is not None and node_of(pool) != node_id:
        raise APIError("POOL_NOT_ON_NODE")
    if completion.pool_id != pool.id or not _same_uuid(completion.image_uuid, session.image_uuid):
        raise APIError("SESSION_INVALID", "The completion does not match its session.")
    if completion.size > session.max_size:
        raise APIError("FILE_TOO_LARGE", details={"max_bytes": session.max_size})
    if is_markup(completion.mime.lower()):
        raise APIError("UNSUPPORTED_TYPE", "SVG and XML files are not accepted.")
    _check_path(completion, session)


async def _create_image(session: UploadSession, completion: UploadCompletion) -> Image | None:
    """Image + session marked used in one transaction; None if another completion won."""
    now = datetime.now(UTC)
    async with in_transaction() as connection:
        # The conditional update is the lock: of two racing completions only one
        # sees the session open; the other waits for it and then changes nothing.
        claimed = (
            await UploadSession.filter(id=session.id, state=UploadSessionState.OPEN)
            .using_db(connection)
            .update(state=UploadSessionState.USED, used_at=now)
        )
        if not claimed:
            return None
        return await Image.create(
            using_db=connection,
            uuid=session.image_uuid,
            owner_id=session.user_id,  # type: ignore[attr-defined]
            pool_id=session.pool.id,
            visibility=session.visibility,
            **image_fields(completion, completion.original_filename or session.filename),
        )


def image_fields(completion: UploadCompletion, filename: str) -> dict[str, Any]:
    """A new image row's fields that come from the node's report of the file."""
    return {
        "short_id": new_short_id(),
        "path": completion.path,
        "original_filename": filename[:255],
        "size": completion.size,
        "sha256": completion.sha256,
        "mime": completion.mime[:64],
        "width": completion.width,
        "height": completion.height,
        "state": ImageState.PROCESSING,
    }


async def enqueue_jobs(image: Image, pool: StoragePool) -> None:
    """Variant processing on the node that holds the file, and its S3 backup if any."""
    redis, keys = current_app.extensions["redis"], current_app.extensions["keys"]
    request_id = g.get("request_id", "")
    await enqueue_processing(redis, keys, image, pool, request_id)
    # The S3 cold backup, on the node's background lane (nothing without a bucket).
    await enqueue_backup(redis, keys, image, pool, request_id)


async def complete_upload(completion: UploadCompletion, node_id: str | None) -> UploadResult:
    """Record a stored upload. ``node_id`` is the reporting node (None: the app itself)."""
    settings: AppSettings = current_app.config["PIXELFOX"]
    session = await _load_session(completion.session_id)
    _check_session(session, completion, node_id)
    for _ in range(_ATTEMPTS):
        existing = await Image.get_or_none(uuid=session.image_uuid)
        if existing is not None:
            # A retry of a completion we already recorded: same answer, and the job
            # is queued again in case the first answer was lost before queueing
            # (the deterministic job id makes that a no-op otherwise).
            if existing.state == ImageState.PROCESSING:
                await enqueue_jobs(existing, session.pool)
            return result_for(existing, settings)
        if session.state != UploadSessionState.OPEN:
            raise APIError("SESSION_INVALID")
        if session.expires_at + COMPLETION_GRACE < datetime.now(UTC):
            raise APIError("SESSION_INVALID", "The upload session has expired.")
        try:
            image = await _create_image(session, completion)
        except IntegrityError:
            # A short id collided (or a racing completion created the image first):
            # the transaction was rolled back, so simply look again.
            continue
        if image is None:
            session = await _load_session(completion.session_id)
            continue
        await enqueue_jobs(image, session.pool)
        log.info(
            "upload completed image=%s pool=%s node=%s size=%s",
            image.uuid,
            session.pool.id,
            node_of(session.pool),
            image.size,
        )
        return result_for(image, settings)
    raise APIError("INTERNAL", "The upload could not be recorded; please retry.")
