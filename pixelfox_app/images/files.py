"""Where an image's files are: the one answer every delete, restore and purge asks.

Today an image's original lives on its pool and each variant on the pool its
row names (the same pool, except for a moment of a move). A copy per pool
(replicas) adds pools here; the callers stay as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..models import Image, ImageVariant, StoragePool


@dataclass
class Location:
    """One pool that holds files of an image, and their pool-relative paths."""

    pool: StoragePool
    paths: list[str] = field(default_factory=list)
    # Whether this pool holds the original (its S3 backup belongs to this pool).
    original: bool = False


async def image_locations(image: Image) -> list[Location]:
    """Every pool holding a file of ``image`` (its pool loaded), the original's first."""
    found = {image.pool.id: Location(image.pool, [image.path], original=True)}
    for variant in await ImageVariant.filter(image_id=image.id).select_related("pool"):
        where = found.setdefault(variant.pool.id, Location(variant.pool))
        where.paths.append(variant.path)
    return list(found.values())
