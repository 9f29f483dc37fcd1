"""A node's backup calls to the control app: report a backup, ask what to restore.

The node holds no database, so the app is the one that knows which originals a
pool has and their SHA-256 from upload time; restore trusts only those hashes.
"""

from __future__ import annotations

import httpx
from pydantic import ValidationError

from pixelfox_common.logs import REQUEST_ID_HEADER, valid_request_id
from pixelfox_protocol.internal import (
    BACKUP_PATH,
    POOL_BACKUPS_PATH,
    BackupManifest,
    BackupRecord,
    BackupReport,
    node_authorization,
)

from ..config import StorageSettings

# Not the worker's app client: the worker's lanes import this package, and the
# restore command must load without the worker.


class AppUnavailable(Exception):
    """The app could not answer now (down, overloaded, refusing our credential)."""


class ImageGone(Exception):
    """The app does not know the image or pool (deleted meanwhile)."""


class ReportRefused(Exception):
    """The app refused the call as malformed, or answered something odd: not worth retrying."""


# Statuses after which the same call may succeed later (as in worker.appclient).
_TRY_AGAIN = {401, 403, 408, 425, 429}
MANIFEST_PAGE = 500


def _headers(settings: StorageSettings, request_id: str = "") -> dict[str, str]:
    headers = {"Authorization": node_authorization(settings.node_id, settings.node_credential)}
    if valid_request_id(request_id):
        headers[REQUEST_ID_HEADER] = request_id
    return headers


def _url(settings: StorageSettings, path: str) -> str:
    return settings.app_url.rstrip("/") + path


def _check(response: httpx.Response, what: str) -> None:
    status = response.status_code
    if status < 300:
        return
    if status in (404, 410):
        raise ImageGone(what)
    if status >= 500 or status in _TRY_AGAIN:
        raise AppUnavailable(f"app answered {status} to {what}: {response.text[:200]}")
    raise ReportRefused(f"app answered {status} to {what}: {response.text[:300]}")


async def report_backup(
    client: httpx.AsyncClient,
    settings: StorageSettings,
    image_uuid: str,
    report: BackupReport,
    request_id: str = "",
) -> None:
    """Tell the app the original is in the bucket; raises the appclient exceptions."""
    path = BACKUP_PATH.format(image_uuid=image_uuid)
    try:
        response = await client.post(
            _url(settings, path), json=report.model_dump(), headers=_headers(settings, request_id)
        )
    except httpx.HTTPError as exc:
        raise AppUnavailable(f"{type(exc).__name__}: {exc}") from exc
    _check(response, f"backup report of {image_uuid}")


async def backup_record(
    client: httpx.AsyncClient, settings: StorageSettings, image_uuid: str
) -> BackupRecord:
    """The app's record of one image's original (ImageGone when it does not know it)."""
    path = BACKUP_PATH.format(image_uuid=image_uuid)
    try:
        response = await client.get(_url(settings, path), headers=_headers(settings))
    except httpx.HTTPError as exc:
        raise AppUnavailable(f"{type(exc).__name__}: {exc}") from exc
    _check(response, f"image {image_uuid}")
    try:
        return BackupRecord.model_validate(response.json())
    except (ValueError, ValidationError) as exc:
        raise ReportRefused(f"odd answer for image {image_uuid}: {exc}") from exc


async def pool_manifest(
    client: httpx.AsyncClient,
    settings: StorageSettings,
    pool_id: int,
    after: int = 0,
    limit: int = MANIFEST_PAGE,
) -> BackupManifest:
    """One page of the pool's originals after image id ``after``."""
    path = POOL_BACKUPS_PATH.format(pool_id=pool_id)
    try:
        response = await client.get(
            _url(settings, path),
            params={"after": after, "limit": limit},
            headers=_headers(settings),
        )
    except httpx.HTTPError as exc:
        raise AppUnavailable(f"{type(exc).__name__}: {exc}") from exc
    _check(response, f"pool {pool_id}")
    try:
        return BackupManifest.model_validate(response.json())
    except (ValueError, ValidationError) as exc:
        raise ReportRefused(f"odd answer for pool {pool_id}: {exc}") from exc
