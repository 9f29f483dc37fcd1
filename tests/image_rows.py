"""Image rows as a finished upload leaves them, for tests that count what users store."""

from __future__ import annotations

import uuid

from pixelfox_app.models import Image, ImageVariant, StoragePool, User


async def stored_image(owner: User, pool: StoragePool, size: int, variants: list[int]) -> Image:
    """An image row of ``size`` bytes with variant rows of the given sizes."""
    image_uuid = uuid.uuid4()
    image = await Image.create(
        uuid=image_uuid,
        short_id=image_uuid.hex[:10],
        owner=owner,
        pool=pool,
        path=f"original/2026/12/07/{image_uuid}.jpg",
        size=size,
        sha256="0" * 64,
        mime="image/jpeg",
    )
    for n, variant_size in enumerate(variants):
        await ImageVariant.create(
            image=image,
            pool=pool,
            kind=f"thumb{n}",
            format="webp",
            path=f"variants/2026/12/07/{image_uuid}_thumb{n}.webp",
            size=variant_size,
            width=10,
            height=10,
        )
    return image
