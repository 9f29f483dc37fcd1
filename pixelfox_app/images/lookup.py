"""Finding an image by the uuid in a URL: a malformed uuid is as missing as an unknown one."""

from __future__ import annotations

import uuid

from pixelfox_protocol.errors import APIError

from ..models import Image


async def image_by_uuid(image_uuid: str) -> Image:
    """The image (its pool loaded), deleted or not; NOT_FOUND."""
    try:
        key = uuid.UUID(image_uuid)
    except ValueError as exc:
        raise APIError("NOT_FOUND") from exc
    image = await Image.get_or_none(uuid=key).select_related("pool")
    if image is None:
        raise APIError("NOT_FOUND")
    return image
