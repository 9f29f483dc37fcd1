"""Telling the app about a stored upload, and what to answer the client.

A committed file is reported to the app's internal API (``UPLOAD_COMPLETE_PATH``,
with this node's credential and the upload's request id). What the app says
decides the client's answer:

- 2xx: the image record exists → 201 with the app's ``UploadResult``;
- unreachable, timeout, 5xx, 408/429, and 401 (this node's own credential is
  wrong — an operator fixes that, the upload must not be lost meanwhile): the
  completion goes to the durable outbox → 202 with ``{image_uuid, status_url}``;
- any other 4xx (session expired or unknown, pool not this node's, …): the app
  refuses the upload → the file is deleted and the app's error is passed on.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
from pydantic import BaseModel, Field, ValidationError

from pixelfox_protocol.errors import CODES, APIError
from pixelfox_protocol.internal import (
    UPLOAD_COMPLETE_PATH,
    UploadCompletion,
    UploadResult,
    node_authorization,
)

from ..config import StorageSettings
from .outbox import Outbox

log = logging.getLogger(__name__)

# The app's public status route (pixelfox_app.images.urls.STATUS_PATH).
IMAGE_STATUS_PATH = "/api/v1/image/status/{image_uuid}"
# Answers that say "try again later" rather than "no".
_RETRYABLE = {401, 408, 425, 429}


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
    detail: str = ""


def status_url(settings: StorageSettings, image_uuid: str) -> str:
    """Where the browser polls: on the app's public origin (CORS origin), else its URL."""
    origin = settings.cors_origin.split(",")[0].strip() or settings.app_url
    return origin.rstrip("/") + IMAGE_STATUS_PATH.format(image_uuid=image_uuid)


def _app_error(response: httpx.Response) -> APIError:
    try:
        body: Any = response.json()
        error = body["error"]
        code, message = str(error["code"]), str(error.get("message") or "")
    except (ValueError, KeyError, TypeError):
        code, message = "", ""
    if code in CODES:
        return APIError(code, message or None, status=response.status_code)
    return APIError("BAD_REQUEST", message or None, status=response.status_code)


async def deliver(
    client: httpx.AsyncClient,
    settings: StorageSettings,
    completion: UploadCompletion,
    request_id: str,
) -> Delivery:
    """POST one completion to the app and classify the answer (never raises on HTTP)."""
    headers = {
        "Authorization": node_authorization(settings.node_id, settings.node_credential),
        "X-Request-ID": request_id,
    }
    url = settings.app_url.rstrip("/") + UPLOAD_COMPLETE_PATH
    try:
        response = await client.post(url, json=completion.model_dump(), headers=headers)
    except httpx.HTTPError as exc:
        return Delivery("unreachable", detail=f"{type(exc).__name__}: {exc}".strip(": "))
    status = response.status_code
    if 200 <= status < 300:
        try:
            result = UploadResult.model_validate(response.json())
        except (ValueError, ValidationError) as exc:
            log.warning(
                "app accepted upload %s but its answer is odd: %s", completion.image_uuid, exc
            )
            result = None
        return Delivery("accepted", status=status, result=result)
    if status >= 500 or status in _RETRYABLE:
        if status == 401:
            log.error(
                "the app refuses this node's credential (401); check PIXELFOX_NODE_CREDENTIAL"
            )
        return Delivery("unreachable", status=status, detail=f"HTTP {status}")
    return Delivery("rejected", status=status, error=_app_error(response), detail=f"HTTP {status}")


async def report(
    client: httpx.AsyncClient,
    settings: StorageSettings,
    outbox: Outbox,
    completion: UploadCompletion,
    request_id: str,
    file_path: Path,
    queued: Path | None,
) -> tuple[dict[str, Any], int]:
    """Report a committed upload; the client's answer body and status (see module docs).

    ``queued`` is the upload's write-ahead outbox record (None if it could not be
    written). Raises the app's APIError (after deleting the file) when the app
    refuses it, and UNAVAILABLE (after deleting the file) when the app is away
    and the outbox cannot be written either.
    """
    delivery = await deliver(client, settings, completion, request_id)
    if delivery.outcome == "accepted":
        if queued is not None:
            await asyncio.to_thread(outbox.done, queued)
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
            outbox.put, completion, request_id, attempts=1, error=delivery.detail
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
