"""Telling the app about a stored upload, and what to answer the client.

A committed file is reported to the app's internal API (``UPLOAD_COMPLETE_PATH``,
with this node's credential and the upload's request id). What the app says
decides the client's answer:

- 2xx: the image record exists → 201 with the app's ``UploadResult``;
- the app cannot answer now (:class:`~pixelfox_storage.appapi.AppUnavailable`:
  unreachable, timeout, 5xx, 408/425/429, 401 — this node's own credential is
  wrong, an operator fixes that and the upload must not be lost meanwhile — or a
  4xx without the app's error body, from a proxy in front of it): the
  completion goes to the durable outbox → 202 with ``{image_uuid, status_url}``;
- the app refuses it with one of its error codes (session expired or unknown,
  pool not this node's, …): the file is deleted and the app's error is passed on.

A duplicate completion (the outbox sending again after a lost answer) is
answered 2xx with the same result by the app, so only 2xx counts as delivered.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from pixelfox_protocol.errors import CODES, APIError
from pixelfox_protocol.internal import UploadCompletion, UploadResult

from ..appapi import AppAPI, AppRefused, AppUnavailable
from ..config import StorageSettings
from .outbox import Outbox

log = logging.getLogger(__name__)

# The app's public status route (pixelfox_app.images.urls.STATUS_PATH).
IMAGE_STATUS_PATH = "/api/v1/image/status/{image_uuid}"


class UploadQueued(BaseModel):
    """The 202 answer: the file is stored; the app will hear of it when it is back."""

    image_uuid: str
    status_url: str = Field(description="Poll this until the image is ready.")


@dataclass(frozen=True)
class Delivery:
    outcome: Literal["accepted", "rejected", "unreachable"]
    status: int = 0
    result: UploadResult | None = None
    error: APIError | None = None
    # The app's own error code of a refusal (``error`` may say BAD_REQUEST for one
    # this node does not know).
    code: str = ""
    detail: str = ""


def status_url(settings: StorageSettings, image_uuid: str) -> str:
    """Where the browser polls: on the app's public origin (CORS origin), else its URL."""
    origin = settings.cors_origin.split(",")[0].strip() or settings.app_url
    return origin.rstrip("/") + IMAGE_STATUS_PATH.format(image_uuid=image_uuid)


def _app_error(refused: AppRefused) -> APIError:
    # Passed on to the client: a code this node does not know (a newer app) reads as BAD_REQUEST.
    error = refused.error
    code = error.code if error.code in CODES else "BAD_REQUEST"
    return APIError(code, error.message or None, status=refused.status)


async def deliver(api: AppAPI, completion: UploadCompletion, request_id: str) -> Delivery:
    """POST one completion to the app and classify the answer (never raises on HTTP)."""
    try:
        result = await api.complete_upload(completion, request_id)
    except AppUnavailable as exc:
        if exc.status == 401:
            log.error(
                "the app refuses this node's credential (401); check PIXELFOX_NODE_CREDENTIAL"
            )
        return Delivery("unreachable", status=exc.status, detail=str(exc))
    except AppRefused as exc:
        return Delivery(
            "rejected", status=exc.status, error=_app_error(exc), code=exc.code, detail=str(exc)
        )
    if result is None:
        log.warning("app accepted upload %s but its answer is odd", completion.image_uuid)
    return Delivery("accepted", result=result)


async def report(
    api: AppAPI,
    settings: StorageSettings,
    outbox: Outbox,
    completion: UploadCompletion,
    request_id: str,
    file_path: Path,
    queued: Path | None,
    *,
    token: str = "",
) -> tuple[dict[str, Any], int]:
    """Report a committed upload; the client's answer body and status (see module docs).

    ``queued`` is the upload's write-ahead outbox record (None if it could not be
    written). Raises the app's APIError (after deleting the file) when the app
    refuses it, and UNAVAILABLE (after deleting the file) when the app is away
    and the outbox cannot be written either.
    """
    delivery = await deliver(api, completion, request_id)
    if delivery.outcome == "accepted":
        if queued is not None:
            await asyncio.to_thread(outbox.delivered, queued)
        if delivery.result is not None:
            return delivery.result.model_dump(), 201
        return _queued_answer(settings, completion), 202
    if delivery.outcome == "rejected":
        assert delivery.error is not None
        log.warning(
            "app refused upload %s (%s); file removed",
            completion.image_uuid,
            delivery.error.code,
        )
        file_path.unlink(missing_ok=True)
        if queued is not None:
            await asyncio.to_thread(outbox.done, queued)
        raise delivery.error
    log.warning(
        "app unreachable for upload %s (%s); left in the outbox",
        completion.image_uuid,
        delivery.detail,
    )
    try:
        # Due soon: the record was written with a grace period for this very attempt.
        await asyncio.to_thread(
            outbox.put, completion, request_id, attempts=1, error=delivery.detail, token=token
        )
    except OSError as exc:
        if queued is None:
            log.error("outbox write failed for %s: %s; file removed", completion.image_uuid, exc)
            file_path.unlink(missing_ok=True)
            raise APIError("UNAVAILABLE") from exc
        log.warning("outbox record of %s keeps its later due time: %s", completion.image_uuid, exc)
    return _queued_answer(settings, completion), 202


def _queued_answer(settings: StorageSettings, completion: UploadCompletion) -> dict[str, Any]:
    return UploadQueued(
        image_uuid=completion.image_uuid,
        status_url=status_url(settings, completion.image_uuid),
    ).model_dump()
