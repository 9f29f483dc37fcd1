"""Image rows with variants as a finished upload leaves them, for the album and sharing tests."""

from __future__ import annotations

import uuid

from pixelfox_app.models import Image, ImageVariant, StoragePool, User, Visibility

SIZES = (("thumb400", 400, 300), ("medium", 1280, 960))


async def ready_image(
    owner: User,
    pool: StoragePool,
    name: str,
    *,
    visibility: Visibility = Visibility.PUBLIC,
    variants: tuple[tuple[str, int, int], ...] = SIZES,
) -> Image:
    """A ready 1600x1200 JPEG named ``name`` (its short id too) with WebP and JPEG variants."""
    key = uuid.uuid4()
    folder = "private/" if visibility == Visibility.PRIVATE else ""
    image = await Image.create(
        uuid=key,
        short_id=name,
        owner=owner,
        pool=pool,
        path=f"{folder}original/2026/12/07/{key}.jpg",
        original_filename=f"{name}.jpg",
        size=5000,
        sha256="0" * 64,
        mime="image/jpeg",
        width=1600,
        height=1200,
        state="ready",
        visibility=visibility,
    )
    for kind, width, height in variants:
        for fmt in ("webp", "jpeg"):
            await ImageVariant.create(
                image=image,
                pool=pool,
                kind=kind,
                format=fmt,
                path=f"{folder}variants/2026/12/07/{key}_{kind}.{fmt}",
                size=100,
                width=width,
                height=height,
            )
    return image
