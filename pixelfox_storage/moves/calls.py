"""A move job's exceptions, its ticket, and its calls to the target node (push).

The app is called through the node's one client (:class:`~pixelfox_storage.appapi.AppAPI`);
the target node's replicate API is not the app's, and has a retry rule of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Protocol

import httpx
from pydantic import ValidationError

from pixelfox_protocol import links
from pixelfox_protocol.internal import (
    MoveFile,
    MoveGrant,
    MoveGrantRequest,
    MoveTicket,
    ReplicateResult,
)

from ..appapi import AppAPI, AppRefused, error_body
from . import files
from .files import CHUNK

# The target's answers after which a later try may pass: 401 REPLICATION_DENIED (the
# grant expired; the next try brings a fresh ticket), 403 POOL_NOT_ON_NODE (the target
# has not loaded its new pool yet); never 403 REPLICATION_FORBIDDEN.
_TARGET_TRY_AGAIN = {401, 403, 408, 425, 429}
# A push may carry a large original over a slow link: no read timeout per call.
PUSH_TIMEOUT = httpx.Timeout(600.0, connect=5.0)


class PushTarget(Protocol):
    """Where a push goes: a move's ticket and a replica's ticket both name it."""

    @property
    def target_pool_id(self) -> int: ...
    @property
    def target_node_id(self) -> str: ...
    @property
    def replicate_url(self) -> str: ...


# Refused's code when the source's own copy fails its recorded hash (quarantine, not retry).
SOURCE_DAMAGED = "SOURCE_DAMAGED"


class TryLater(Exception):
    """The target node (or this node's pool map) cannot help now; the job retries with backoff."""


class Refused(Exception):
    """A definite no (bad checksum, forbidden): retrying the same call cannot help."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class WrongNode(Exception):
    """The source pool is on another node now; ``node_id`` names it (the app hands over)."""

    def __init__(self, node_id: str) -> None:
        super().__init__(node_id)
        self.node_id = node_id


async def move_ticket(app: AppAPI, move_id: int, image_id: int) -> MoveTicket:
    """The app's ticket for one image; WrongNode when its source pool is another node's now."""
    try:
        return await app.move_ticket(move_id, image_id)
    except AppRefused as exc:
        if exc.code == "POOL_NOT_ON_NODE" and exc.details.get("node_id"):
            raise WrongNode(str(exc.details["node_id"])) from exc
        raise


def _check(response: httpx.Response, what: str) -> None:
    status = response.status_code
    if status < 300:
        return
    error = error_body(response)
    code = error.code if error is not None else ""
    if status >= 500 or (status in _TARGET_TRY_AGAIN and code != "REPLICATION_FORBIDDEN"):
        raise TryLater(f"{what}: {status} {code}".strip())
    raise Refused(f"{what}: {status} {code} {response.text[:200]}", code)


async def _stream(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as fh:
        while chunk := await asyncio.to_thread(fh.read, CHUNK):
            yield chunk


async def push(
    client: httpx.AsyncClient, ticket: PushTarget, grant: str, source: Path, file: MoveFile
) -> ReplicateResult:
    """PUT one file to the target node's replicate API; its answer (``stored``: written now).

    ``grant`` lists the file (``pixelfox_protocol.grants``). The target checks
    size and SHA-256 itself (422 CHECKSUM_MISMATCH, the file removed: raised as
    Refused), as it refuses a file the grant does not list, a second write of
    it, or a different file already there (Refused); unreachable or 5xx raises
    TryLater.
    """
    params: dict[str, str | int] = {
        "pool_id": ticket.target_pool_id,
        "path": file.path,
        "size": file.size,
        "sha256": file.sha256,
    }
    headers = {
        "Authorization": f"Bearer {grant}",
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
    try:
        return ReplicateResult.model_validate(response.json())
    except (ValueError, ValidationError):
        stored = response.status_code == 201
        return ReplicateResult(
            pool_id=ticket.target_pool_id, path=file.path, size=file.size, sha256="", stored=stored
        )


async def push_all(
    client: httpx.AsyncClient,
    source: Path,
    target: PushTarget,
    every: list[MoveFile],
    ask_grant: Callable[[MoveGrantRequest], Awaitable[MoveGrant]],
) -> tuple[list[MoveFile], list[str], list[ReplicateResult]]:
    """Hash every file here, ask for a grant naming them, then push each once, in order.

    Returns the files pushed (as hashed here), the paths missing here and the
    target's answers. A file whose hash differs from the one recorded is Refused
    before anything is asked. Moves and replicas both push through this.
    """
    present: list[tuple[Path, MoveFile]] = []
    missing = []
    for file in every:
        here = links.resolve_file(source, file.path)
        if not here.is_file():
            missing.append(file.path)
            continue
        size = here.stat().st_size
        sha256 = await asyncio.to_thread(files.sha256_of, here)
        if file.sha256 and sha256 != file.sha256:
            raise Refused(
                f"{file.path}: the source copy does not match its recorded SHA-256",
                SOURCE_DAMAGED,
            )
        present.append((here, MoveFile(path=file.path, size=size, sha256=sha256)))
    grant = await ask_grant(MoveGrantRequest(files=[file for _, file in present]))
    answers = [await push(client, target, grant.grant, here, file) for here, file in present]
    return [file for _, file in present], missing, answers
