"""The node worker's calls to the control app's internal API."""

from __future__ import annotations

import httpx
from pydantic import BaseModel

from pixelfox_common.logs import REQUEST_ID_HEADER, valid_request_id
from pixelfox_protocol.internal import (
    VARIANTS_PATH,
    VISIBILITY_PATH,
    VariantReport,
    VisibilityReport,
    node_authorization,
)

from ..config import StorageSettings


class AppUnavailable(Exception):
    """The app could not take the report now (down, overloaded, or refusing our
    credential); worth trying again later."""


class ImageGone(Exception):
    """The app no longer knows the image (deleted meanwhile): nothing to report to."""


class ReportRefused(Exception):
    """The app refused the report as malformed: a bug, not worth retrying."""


# Statuses after which the same report may succeed later. 401/403 are here
# because an operator fixes a wrong credential without the image changing.
_TRY_AGAIN = {401, 403, 408, 425, 429}


class AppClient:
    def __init__(self, settings: StorageSettings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client

    def _headers(self, request_id: str) -> dict[str, str]:
        headers = {
            "Authorization": node_authorization(
                self.settings.node_id, self.settings.node_credential
            )
        }
        if valid_request_id(request_id):
            headers[REQUEST_ID_HEADER] = request_id
        return headers

    async def report_variants(
        self, image_uuid: str, report: VariantReport, request_id: str
    ) -> None:
        """POST a VariantReport for one image; raises the exceptions above."""
        await self._post(VARIANTS_PATH, image_uuid, report, request_id)

    async def report_visibility(
        self, image_uuid: str, report: VisibilityReport, request_id: str
    ) -> None:
        """POST where an image's files are after a visibility change; raises as above."""
        await self._post(VISIBILITY_PATH, image_uuid, report, request_id)

    async def _post(self, path: str, image_uuid: str, report: BaseModel, request_id: str) -> None:
        url = self.settings.app_url.rstrip("/") + path.format(image_uuid=image_uuid)
        try:
            response = await self.client.post(
                url, json=report.model_dump(), headers=self._headers(request_id)
            )
        except httpx.HTTPError as exc:
            raise AppUnavailable(f"{type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if status < 300:
            return
        if status in (404, 410):
            raise ImageGone(image_uuid)
        if status >= 500 or status in _TRY_AGAIN:
            raise AppUnavailable(f"app answered {status}")
        raise ReportRefused(f"app answered {status}: {response.text[:300]}")
