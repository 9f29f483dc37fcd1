"""A move job's calls: to the app (ticket, switch, outcome) and to the target node (push)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from pixelfox_protocol.internal import (
    MOVE_IMAGE_PATH,
    MOVE_OUTCOME_PATH,
    MOVE_SWITCH_PATH,
    MoveFile,
    MoveOutcome,
    MoveSwitch,
    MoveSwitched,
    MoveTicket,
    node_authorization,
)

from ..config import StorageSettings
from .files import CHUNK

M = TypeVar("M", bound=BaseModel)
# Statuses after which the same call may succeed later (as in worker.appclient).
_TRY_AGAIN = {401, 403, 408, 425, 429}
# A push may carry a large original over a slow link: no read timeout per call.
PUSH_TIMEOUT = httpx.Timeout(600.0, connect=5.0)


class TryLater(Exception):
    """The app or the target node cannot answer now; the job retries with backoff."""


class Refused(Exception):
    """A definite no (bad checksum, forbidden): retrying the same call cannot help."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class WrongNode(Exception):
    """The source pool is on another node now; ``node_id`` names it."""

    def __init__(self, node_id: str) -> None:
        super().__init__(node_id)
        self.node_id = node_id


def _code(response: httpx.Response) -> tuple[str, dict[str, Any]]:
    try:
        error = response.json().get("error", {})
        return str(error.get("code", "")), dict(error.get("details") or {})
    except (ValueError, AttributeError):
        return "", {}


def _check(response: httpx.Response, what: str) -> None:
    status = response.status_code
    if status < 300:
        return
    code, details = _code(response)
    if code == "POOL_NOT_ON_NODE" and details.get("node_id"):
        raise WrongNode(str(details["node_id"]))
    if status >= 500 or (status in _TRY_AGAIN and code != "REPLICATION_FORBIDDEN"):
        raise TryLater(f"{what}: {status} {code}".strip())
    raise Refused(f"{what}: {status} {code} {response.text[:200]}", code)


class AppCalls:
    def __init__(self, settings: StorageSettings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client

    def _url(self, path: str, move_id: int, image_id: int) -> str:
        return self.settings.app_url.rstrip("/") + path.format(move_id=move_id, image_id=image_id)

    async def _call(
        self, method: str, path: str, move_id: int, image_id: int, body: BaseModel | None
    ) -> httpx.Response:
        headers = {
            "Authorization": node_authorization(
                self.settings.node_id, self.settings.node_credential
            )
        }
        try:
            response = await self.client.request(
                method,
                self._url(path, move_id, image_id),
                json=body.model_dump() if body is not None else None,
                headers=headers,
            )
        except httpx.HTTPError as exc:
            raise TryLater(f"app: {type(exc).__name__}: {exc}") from exc
        _check(response, f"app {method} {path}")
        return response

    async def ticket(self, move_id: int, image_id: int) -> MoveTicket:
        response = await self._call("GET", MOVE_IMAGE_PATH, move_id, image_id, None)
        return _parse(MoveTicket, response)

    async def switch(self, move_id: int, image_id: int, body: MoveSwitch) -> MoveSwitched:
        response = await self._call("POST", MOVE_SWITCH_PATH, move_id, image_id, body)
        return _parse(MoveSwitched, response)

    async def outcome(self, move_id: int, image_id: int, body: MoveOutcome) -> None:
        await self._call("POST", MOVE_OUTCOME_PATH, move_id, image_id, body)


def _parse(model: type[M], response: httpx.Response) -> M:
    try:
        return model.model_validate(response.json())
    except (ValueError, ValidationError) as exc:
        raise Refused(f"odd answer from the app: {exc}") from exc


async def _stream(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as fh:
        while chunk := await asyncio.to_thread(fh.read, CHUNK):
            yield chunk


async def push(client: httpx.AsyncClient, ticket: MoveTicket, source: Path, file: MoveFile) -> bool:
    """PUT one file to the target node's replicate API; True when it was written there.

    The target checks size and SHA-256 itself (422 CHECKSUM_MISMATCH, the file
    removed: raised as Refused); unreachable or 5xx raises TryLater.
    """
    params: dict[str, str | int] = {
        "pool_id": ticket.target_pool_id,
        "path": file.path,
        "size": file.size,
        "sha256": file.sha256,
    }
    headers = {
        "Authorization": f"Bearer {ticket.grant}",
        "Content-Type": "application/octet-stream",
        "Content-Length": str(file.size),
    }
    try:
        response = await client.put(
            ticket.replicate_url,
            params=params,
            content=_stream(source),
            headers=headers,
            timeout=PUSH_TIMEOUT,
        )
    except httpx.HTTPError as exc:
        raise TryLater(f"target {ticket.target_node_id}: {type(exc).__name__}: {exc}") from exc
    _check(response, f"target {ticket.target_node_id} {file.path}")
    return response.status_code == 201
