"""Where an image's files are: the one answer every delete, restore and purge asks.

An image's primary copy lives on its pool (the original there, each variant on
the pool its row names: the same pool, except for a moment of a move); every
other copy (``ImageCopy``, a replica, pending, verified or lost) holds the same
files at the same paths on its own pool. A lost copy's node may come back: its
jobs wait in its queue.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..models import Image, ImageCopy, ImageVariant, StoragePool


@dataclass
class Location:
    """One pool that holds files of an image, and their pool-relative paths."""

    pool: StoragePool
    paths: list[str] = field(default_factory=list)
    # Whether this is the primary's pool (its S3 backup belongs to this pool).
    original: bool = False


async def image_locations(image: Image) -> list[Location]:
    """Every pool holding a file of ``image`` (its pool loaded), the original's first."""
    found = {image.pool.id: Location(image.pool, [image.path], original=True)}
    for variant in await ImageVariant.filter(image_id=image.id).select_related("pool"):
        where = found.setdefault(variant.pool.id, Location(variant.pool))
        where.paths.append(variant.path)
    primary = list(found[image.pool.id].paths)
    for copy in await ImageCopy.filter(image_id=image.id).select_related("pool"):
        if copy.pool.id not in found:
            found[copy.pool.id] = Location(copy.pool, primary)
    return list(found.values())
