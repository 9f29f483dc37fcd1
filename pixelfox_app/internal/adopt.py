"""Adoption: an image row made again for an original a node holds, after a restore.

A database restored from an older backup has lost the rows (and the upload
sessions) of the images uploaded since, while their files are still on the
nodes. ``pixelfox scrub --adopt`` on a node offers each such original with its
outbox journal record: the completion the app accepted once and the upload
token the app signed for it. The node only proposes; the app decides:

- the token must carry the app's signature (any of its current or previous
  keys; expiry does not matter — it was checked when the upload started) and be
  for this very node, pool and image; the owner, the pool, the image id and the
  visibility come from the token, never from the node. A node that is stolen
  can offer only uploads that were really made through it, for the owners who
  really made them.
- the pool must be the node's now, and the path the image's own original in the
  subtree its visibility says.
- an image that has a row already is answered with ``adopted: false`` (running
  adoption twice makes nothing twice). A session the restore kept and that is
  still open is taken the normal way (:func:`complete_upload`).

Then the normal processing (variants) and backup jobs are queued, and the copy
checks follow as for any upload.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from quart import current_app
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from pixelfox_protocol import tokens
from pixelfox_protocol.errors import APIError
from pixelfox_protocol.internal import AdoptProposal, AdoptResult, UploadCompletion

from ..config import AppSettings
from ..images import urls
from ..models import Image, StorageNode, UploadSession, UploadSessionState, User
from ..upload.completion import check_original_path, complete_upload, enqueue_jobs, image_fields
from ..upload.policy import is_markup
from ..upload.token_keys import public_keys
from .variants import own_pool

log = logging.getLogger(__name__)

_ATTEMPTS = 5


def _refused(why: str) -> APIError:
    return APIError("ADOPT_PROOF_INVALID", details={"reason": why})


def proven_claims(proposal: AdoptProposal, node_id: str, settings: AppSettings) -> Any:
    """The token's claims if it is the app's, for this node, and names this completion."""
    try:
        keys = tokens.parse_public_keys(public_keys(settings))
    except ValueError as exc:
        raise APIError("UNAVAILABLE", "The app's token keys are not configured.") from exc
    try:
        claims = tokens.verify(proposal.token, node_id, keys, verify_exp=False)
    except APIError as exc:
        # TOKEN_INVALID (signature, key, shape) or TOKEN_WRONG_NODE: one code for adoption.
        raise _refused("signature" if exc.code != "TOKEN_WRONG_NODE" else "other node") from exc
    completion = proposal.completion
    image_uuid = _uuid_or_none(claims.image_uuid)
    if (
        claims.pool_id != completion.pool_id
        or claims.session_id != completion.session_id
        or image_uuid is None
        or image_uuid != _uuid_or_none(completion.image_uuid)
    ):
        raise _refused("the token is for another upload")
    if completion.size > claims.max_size:
        raise _refused("the file is larger than the token allowed")
    return claims


async def adopt_upload(proposal: AdoptProposal, node: StorageNode) -> AdoptResult:
    """Re-create the row of an original ``node`` holds, proven by its upload token."""
    settings: AppSettings = current_app.config["PIXELFOX"]
    claims = proven_claims(proposal, node.node_id, settings)
    completion: UploadCompletion = proposal.completion
    image_uuid = uuid.UUID(claims.image_uuid)
    pool = await own_pool(node, claims.pool_id)
    check_original_path(completion.path, image_uuid, claims.visibility)
    if is_markup(completion.mime.lower()):
        raise APIError("UNSUPPORTED_TYPE", "SVG and XML files are not accepted.")
    for _ in range(_ATTEMPTS):
        existing = await Image.get_or_none(uuid=image_uuid)
        if existing is not None:
            return _result(existing, settings, adopted=False)
        sid = _uuid_or_none(claims.session_id)
        session = await UploadSession.get_or_none(id=sid) if sid else None
        if session is not None and session.state == UploadSessionState.OPEN:
            # The backup has the session (issued before it) but not the image.
            result = await complete_upload(completion, node.node_id)
            return AdoptResult(image_uuid=result.image_uuid, adopted=True, view_url=result.view_url)
        if session is not None:
            # Used, and its image is gone from a database that saw it: deleted for good.
            raise _refused("the session's image was deleted for good")
        if not await User.exists(id=claims.user_id):
            raise APIError("ADOPT_OWNER_UNKNOWN", details={"user_id": claims.user_id})
        try:
            async with in_transaction():
                image = await Image.create(
                    uuid=image_uuid,
                    owner_id=claims.user_id,
                    pool_id=pool.id,
                    visibility=claims.visibility,
                    **image_fields(completion, completion.original_filename),
                )
                if sid is not None:
                    # The session as the upload left it, used: should the image be
                    # deleted for good later, the token cannot bring it back again.
                    await _used_session(sid, claims, completion)
        except IntegrityError:
            continue  # a short id collided, or a racing adoption won: look again
        await enqueue_jobs(image, pool)
        log.warning(
            "image %s adopted from node %s pool %s (owner %s, %s bytes)",
            image.uuid,
            node.node_id,
            pool.id,
            claims.user_id,
            image.size,
        )
        return _result(image, settings, adopted=True)
    raise APIError("INTERNAL", "The image could not be adopted; please retry.")


async def _used_session(sid: uuid.UUID, claims: Any, completion: UploadCompletion) -> None:
    now = datetime.now(UTC)
    await UploadSession.create(
        id=sid,
        user_id=claims.user_id,
        pool_id=claims.pool_id,
        token_id=claims.jti,
        image_uuid=uuid.UUID(claims.image_uuid),
        filename=completion.original_filename[:255],
        content_type=completion.mime[:128],
        declared_size=completion.size,
        max_size=claims.max_size,
        visibility=claims.visibility,
        expires_at=datetime.fromtimestamp(claims.expires_at, UTC),
        state=UploadSessionState.USED,
        used_at=now,
    )


def _uuid_or_none(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _result(image: Image, settings: AppSettings, *, adopted: bool) -> AdoptResult:
    return AdoptResult(
        image_uuid=str(image.uuid),
        adopted=adopted,
        view_url=urls.view_url(image.short_id, settings),
    )
