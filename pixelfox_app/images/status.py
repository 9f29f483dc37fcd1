"""``GET /api/v1/image/status/<uuid>``: processing | ready | failed, with URLs when ready."""

from __future__ import annotations

import uuid

from pydantic import BaseModel
from quart import Blueprint, current_app
from quart_schema import validate_response

from pixelfox_protocol.errors import APIError

from ..auth import current_user, public
from ..config import AppSettings
from ..copies.reads import file_pool, serving_pool
from ..models import Image, ImageState, StoragePool, Visibility
from . import urls
from .visibility import may_see

blueprint = Blueprint("images", __name__, url_prefix="/api/v1/image")


class VariantLink(BaseModel):
    kind: str
    format: str
    url: str
    width: int
    height: int
    size: int


class ImageStatus(BaseModel):
    image_uuid: str
    state: str
    view_url: str
    visibility: str = "public"
    # Set while the storage node moves the files for a change to or from private.
    changing_to: str | None = None
    # The rest only once the image is ready.
    url: str | None = None
    mime: str | None = None
    width: int | None = None
    height: int | None = None
    variants: list[VariantLink] = []


async def image_status(
    image: Image, settings: AppSettings, serving: StoragePool | None = None
) -> ImageStatus:
    """The status document of one image (its pool must be loaded).

    ``serving``: the copy's pool the URLs point at (``copies.reads``), else the primary.
    """
    status = ImageStatus(
        image_uuid=str(image.uuid),
        state=str(image.state),
        view_url=urls.view_url(image.short_id, settings),
        visibility=str(image.visibility),
        changing_to=str(image.visibility_target) if image.visibility_target else None,
    )
    if image.state != ImageState.READY:
        return status
    variants = await image.variants.all().select_related("pool").order_by("kind", "format")
    private = image.visibility == Visibility.PRIVATE
    status.url = urls.file_url(
        file_pool(image.pool, image, serving), image.path, settings, private=private
    )
    status.mime, status.width, status.height = image.mime, image.width, image.height
    status.variants = [
        VariantLink(
            kind=v.kind,
            format=v.format,
            # A variant may sit on another pool than its original while a move runs.
            url=urls.file_url(file_pool(v.pool, image, serving), v.path, settings, private=private),
            width=v.width,
            height=v.height,
            size=v.size,
        )
        for v in variants
    ]
    return status


@blueprint.get("/status/<image_uuid>")
@public
@validate_response(ImageStatus)
async def status(image_uuid: str) -> tuple[ImageStatus, int, dict[str, str]]:
    """Poll until the variants are ready. Private images answer only their owner and admins."""
    try:
        key = uuid.UUID(image_uuid)
    except ValueError as exc:
        raise APIError("NOT_FOUND") from exc
    image = await Image.get_or_none(uuid=key).select_related("pool")
    if image is None:
        raise APIError("NOT_FOUND")
    if not may_see(image, await current_user()):
        raise APIError("NOT_FOUND")
    settings: AppSettings = current_app.config["PIXELFOX"]
    # Polled until ready: no cache may keep an old "processing".
    serving = await serving_pool(
        image, current_app.extensions["redis"], current_app.extensions["keys"]
    )
    return await image_status(image, settings, serving), 200, {"Cache-Control": "no-store"}
