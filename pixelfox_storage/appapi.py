"""This node's one client of the control app's internal API.

Every call a node makes to the app goes through :class:`AppAPI`: completion
reports and the outbox, heartbeats, the pool map, the worker's variant and
visibility reports, backup reports and restore look-ups, move tickets and a
scrub's repair plans. It owns the base URL (``PIXELFOX_APP_URL``), the node
credential, the request id header, the timeouts, and the one reading of the
app's answer:

- 2xx: done;
- :class:`AppUnavailable`: the same call may succeed later without anything on
  this node changing. No answer (refused connection, timeout), 5xx, 408, 425,
  429, 401 (the app refuses this node's credential: an operator fixes that, and
  the report stays valid meanwhile), and any 4xx that does not carry the app's
  error body ``{"error": {"code": …}}`` (:mod:`pixelfox_protocol.errors`): such
  an answer came from something in front of the app (a proxy, a load
  balancer), not from the app;
- :class:`AppRefused`: the app itself said no, with a stable code; the same call
  gets the same no. :class:`ImageGone` is the refusal 404/410 (the app no longer
  knows the image, pool or move item).

What a refusal means is the caller's decision: the outbox quarantines the
upload, a worker job gives up, a move job hands the image to another node.
Paths and message models are the contract's (:mod:`pixelfox_protocol.internal`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from pixelfox_common import tls
from pixelfox_common.logs import REQUEST_ID_HEADER, valid_request_id
from pixelfox_protocol.internal import (
    ADOPT_PATH,
    BACKUP_PATH,
    COPY_GRANT_PATH,
    COPY_PATH,
    COPY_VERIFIED_PATH,
    HEARTBEAT_PATH,
    MOVE_BATCH_PATH,
    MOVE_BATCH_SWITCH_PATH,
    MOVE_GRANT_PATH,
    MOVE_IMAGE_PATH,
    MOVE_OUTCOME_PATH,
    MOVE_SWITCH_PATH,
    NODE_CONFIG_PATH,
    POOL_BACKUPS_PATH,
    POOL_FILES_PATH,
    PURGED_PATH,
    REPAIR_PATH,
    TRASH_PATH,
    UPLOAD_COMPLETE_PATH,
    VARIANTS_PATH,
    VISIBILITY_PATH,
    AdoptProposal,
    AdoptResult,
    BackupManifest,
    BackupRecord,
    BackupReport,
    CopyRecorded,
    CopyReport,
    CopyTicket,
    Heartbeat,
    MoveBatchRequest,
    MoveBatchSwitch,
    MoveBatchSwitched,
    MoveBatchTicket,
    MoveGrant,
    MoveGrantRequest,
    MoveOutcome,
    MoveSwitch,
    MoveSwitched,
    MoveTicket,
    NodeConfig,
    PoolFilesPage,
    PurgeReport,
    RepairPlan,
    RepairRequest,
    TrashReport,
    UploadCompletion,
    UploadResult,
    VariantReport,
    VisibilityReport,
    node_authorization,
)

from .config import StorageSettings

M = TypeVar("M", bound=BaseModel)

# The app answers in milliseconds; a call that takes longer is better tried again
# (an upload's answer must not wait long for an app that is down: the outbox takes over).
APP_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
# Statuses after which the same call may succeed later (see the module docs).
RETRY_STATUSES = frozenset({401, 408, 425, 429})
MANIFEST_PAGE = 500


def longest_call(timeout: httpx.Timeout) -> float:
    """The longest one call can take with ``timeout`` (connect, then write/read/pool phases)."""
    phases = (timeout.connect, timeout.write, timeout.read, timeout.pool)
    return sum(p for p in phases if p is not None)


@dataclass(frozen=True)
class ErrorBody:
    """The app's error answer: ``{"error": {"code", "message", "details"}}``."""

    code: str
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)


def error_body(response: httpx.Response) -> ErrorBody | None:
    """The answer's error in the project's shape, or None when it has none (not ours)."""
    try:
        error = response.json()["error"]
        code = error["code"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(code, str) or not code:
        return None
    details = error.get("details")
    return ErrorBody(code, str(error.get("message") or ""), dict(details or {}))


class AppError(Exception):
    """A call to the app that did not succeed; ``status`` is 0 when nothing answered."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class AppUnavailable(AppError):
    """The app cannot answer now (down, overloaded, refusing our credential, hidden
    behind a proxy that answered instead); worth trying again later."""


class AppRefused(AppError):
    """The app said no with one of its error codes, or answered something this node
    cannot read: trying the same call again cannot help."""

    def __init__(self, message: str, status: int, error: ErrorBody | None = None) -> None:
        super().__init__(message, status)
        self.error = error or ErrorBody("")

    @property
    def code(self) -> str:
        return self.error.code

    @property
    def details(self) -> dict[str, Any]:
        return self.error.details


class ImageGone(AppRefused):
    """The app no longer knows the image (or pool, or move item): nothing to report to."""


def check(response: httpx.Response, what: str) -> None:
    """Raise as the module docs say unless ``response`` is a success."""
    status = response.status_code
    if status < 300:
        return
    error = error_body(response)
    if status >= 500 or status in RETRY_STATUSES or error is None:
        # Without the app's error body the answer is a proxy's, not the app's word.
        raise AppUnavailable(f"{what}: HTTP {status} {error.code if error else ''}".strip(), status)
    message = f"{what}: HTTP {status} {error.code} {error.message}".strip()
    if status in (404, 410):
        raise ImageGone(message, status, error)
    raise AppRefused(message, status, error)


def parse(model: type[M], response: httpx.Response, what: str) -> M:
    """The answer as ``model``; AppRefused when the app answered something else."""
    try:
        return model.model_validate(response.json())
    except (ValueError, ValidationError) as exc:
        raise AppRefused(f"{what}: odd answer: {exc}", response.status_code) from exc


class AppAPI:
    """Calls to the app's internal API as this node (one instance per process part)."""

    def __init__(self, settings: StorageSettings, *, timeout: httpx.Timeout = APP_TIMEOUT) -> None:
        self.settings = settings
        self.base_url = settings.app_url.rstrip("/")
        self.http = httpx.AsyncClient(timeout=timeout, verify=tls.http_verify(settings.ca_file))

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> AppAPI:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def headers(self, request_id: str = "") -> dict[str, str]:
        settings = self.settings
        headers = {"Authorization": node_authorization(settings.node_id, settings.node_credential)}
        if valid_request_id(request_id):
            headers[REQUEST_ID_HEADER] = request_id
        return headers

    async def call(
        self,
        method: str,
        path: str,
        *,
        body: BaseModel | None = None,
        params: dict[str, Any] | None = None,
        request_id: str = "",
    ) -> httpx.Response:
        """One call; the successful response, else AppUnavailable or AppRefused."""
        what = f"app {method} {path}"
        try:
            response = await self.http.request(
                method,
                self.base_url + path,
                json=body.model_dump() if body is not None else None,
                params=params,
                headers=self.headers(request_id),
            )
        except httpx.HTTPError as exc:
            raise AppUnavailable(f"{what} at {self.base_url}: {type(exc).__name__}: {exc}") from exc
        check(response, what)
        return response

    # The pool map and the heartbeat.

    async def node_config(self) -> NodeConfig:
        return parse(NodeConfig, await self.call("GET", NODE_CONFIG_PATH), "node config")

    async def heartbeat(self, beat: Heartbeat) -> NodeConfig:
        """Send a beat; the answer is the node's current pool map."""
        return parse(NodeConfig, await self.call("POST", HEARTBEAT_PATH, body=beat), "heartbeat")

    # Uploads and what the worker made of them.

    async def complete_upload(
        self, completion: UploadCompletion, request_id: str
    ) -> UploadResult | None:
        """Report a stored upload; the app's UploadResult (None: recorded, but an odd answer)."""
        response = await self.call(
            "POST", UPLOAD_COMPLETE_PATH, body=completion, request_id=request_id
        )
        try:
            return UploadResult.model_validate(response.json())
        except (ValueError, ValidationError):
            return None

    async def report_variants(
        self, image_uuid: str, report: VariantReport, request_id: str
    ) -> None:
        path = VARIANTS_PATH.format(image_uuid=image_uuid)
        await self.call("POST", path, body=report, request_id=request_id)

    async def report_visibility(
        self, image_uuid: str, report: VisibilityReport, request_id: str
    ) -> None:
        path = VISIBILITY_PATH.format(image_uuid=image_uuid)
        await self.call("POST", path, body=report, request_id=request_id)

    # The trash: files renamed into it or back, files purged.

    async def report_trash(self, image_uuid: str, report: TrashReport, request_id: str) -> None:
        path = TRASH_PATH.format(image_uuid=image_uuid)
        await self.call("POST", path, body=report, request_id=request_id)

    async def report_purged(self, image_uuid: str, report: PurgeReport, request_id: str) -> None:
        path = PURGED_PATH.format(image_uuid=image_uuid)
        await self.call("POST", path, body=report, request_id=request_id)

    # The S3 cold backup.

    async def report_backup(self, image_uuid: str, report: BackupReport, request_id: str) -> None:
        path = BACKUP_PATH.format(image_uuid=image_uuid)
        await self.call("POST", path, body=report, request_id=request_id)

    async def backup_record(self, image_uuid: str) -> BackupRecord:
        """The app's record of one image's original (ImageGone when it does not know it)."""
        response = await self.call("GET", BACKUP_PATH.format(image_uuid=image_uuid))
        return parse(BackupRecord, response, f"image {image_uuid}")

    async def pool_manifest(
        self, pool_id: int, after: int = 0, limit: int = MANIFEST_PAGE
    ) -> BackupManifest:
        """One page of the pool's originals after image id ``after``."""
        path = POOL_BACKUPS_PATH.format(pool_id=pool_id)
        response = await self.call("GET", path, params={"after": after, "limit": limit})
        return parse(BackupManifest, response, f"pool {pool_id}")

    async def pool_files(self, pool_id: int, after: int = 0, limit: int = 200) -> PoolFilesPage:
        """One page of the pool's images with their files after image id ``after`` (scrub)."""
        path = POOL_FILES_PATH.format(pool_id=pool_id)
        response = await self.call("GET", path, params={"after": after, "limit": limit})
        return parse(PoolFilesPage, response, f"pool {pool_id} files")

    async def repair_plan(self, image_uuid: str, body: RepairRequest) -> RepairPlan:
        """Where a scrub may bring an image's files back from (its copies elsewhere, S3)."""
        path = REPAIR_PATH.format(image_uuid=image_uuid)
        return parse(RepairPlan, await self.call("POST", path, body=body), "repair plan")

    async def adopt(self, body: AdoptProposal) -> AdoptResult:
        """Offer an original whose row is gone, with its journal record (scrub --adopt)."""
        return parse(AdoptResult, await self.call("POST", ADOPT_PATH, body=body), "adoption")

    # Moves, on the source node.

    async def move_ticket(self, move_id: int, image_id: int) -> MoveTicket:
        path = MOVE_IMAGE_PATH.format(move_id=move_id, image_id=image_id)
        return parse(MoveTicket, await self.call("GET", path), "move ticket")

    async def move_grant(self, move_id: int, image_id: int, body: MoveGrantRequest) -> MoveGrant:
        path = MOVE_GRANT_PATH.format(move_id=move_id, image_id=image_id)
        return parse(MoveGrant, await self.call("POST", path, body=body), "move grant")

    async def move_switch(self, move_id: int, image_id: int, body: MoveSwitch) -> MoveSwitched:
        path = MOVE_SWITCH_PATH.format(move_id=move_id, image_id=image_id)
        return parse(MoveSwitched, await self.call("POST", path, body=body), "move switch")

    async def move_outcome(self, move_id: int, image_id: int, body: MoveOutcome) -> None:
        path = MOVE_OUTCOME_PATH.format(move_id=move_id, image_id=image_id)
        await self.call("POST", path, body=body)

    async def move_batch_ticket(self, move_id: int, body: MoveBatchRequest) -> MoveBatchTicket:
        path = MOVE_BATCH_PATH.format(move_id=move_id)
        return parse(MoveBatchTicket, await self.call("POST", path, body=body), "batch tickets")

    async def move_batch_switch(self, move_id: int, body: MoveBatchSwitch) -> MoveBatchSwitched:
        path = MOVE_BATCH_SWITCH_PATH.format(move_id=move_id)
        return parse(MoveBatchSwitched, await self.call("POST", path, body=body), "batch switch")

    # Replicas: the source's ticket and grant, the target's report.

    async def copy_ticket(self, copy_id: int) -> CopyTicket:
        path = COPY_PATH.format(copy_id=copy_id)
        return parse(CopyTicket, await self.call("GET", path), "copy ticket")

    async def copy_grant(self, copy_id: int, body: MoveGrantRequest) -> MoveGrant:
        path = COPY_GRANT_PATH.format(copy_id=copy_id)
        return parse(MoveGrant, await self.call("POST", path, body=body), "copy grant")

    async def copy_verified(self, copy_id: int, body: CopyReport) -> CopyRecorded:
        path = COPY_VERIFIED_PATH.format(copy_id=copy_id)
        return parse(CopyRecorded, await self.call("POST", path, body=body), "copy report")
