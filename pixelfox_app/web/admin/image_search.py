"""The admin's image search: every image, filtered, newest first, a keyset page at a time.

Pages are keyset on the image id (``before``: the last id of the previous
page), never OFFSET: page 2,000 of 100,000 images costs what page 1 costs.
Each filter is one an index serves with the id order: the owner
(``images_owner_id``), the pool and the node (the copies' indexes, see
``_on_pools``). Filename search is a substring match; like the
state, visibility and date filters it walks the ids backwards until the page
is full, which stays within the budget at 100,000 rows
(bench/admin_images.py measures every case).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tortoise.expressions import RawSQL
from tortoise.queryset import QuerySet

from ...models import Image, ImageCopy, ImageState, StoragePool, User, Visibility

PAGE_SIZE = 50
# What the State filter offers beyond the image states: the trash, and everything not in it.
IN_TRASH, NOT_IN_TRASH = "trash", "live"
STATES = (NOT_IN_TRASH, *(s.value for s in ImageState), IN_TRASH)
VISIBILITIES = tuple(v.value for v in Visibility)


@dataclass(frozen=True)
class ImageFilters:
    """What the admin searched for; empty strings are "any"."""

    filename: str = ""
    user: str = ""
    pool: str = ""
    node: str = ""
    state: str = ""
    visibility: str = ""
    since: str = ""  # YYYY-MM-DD, inclusive
    until: str = ""  # YYYY-MM-DD, inclusive

    @classmethod
    def from_args(cls, args: Any) -> ImageFilters:
        """From a query string or form; unknown choices and malformed dates are dropped."""
        values = {f.name: str(args.get(f.name, "")).strip()[:100] for f in fields(cls)}
        if values["state"] not in STATES:
            values["state"] = ""
        if values["visibility"] not in VISIBILITIES:
            values["visibility"] = ""
        for name in ("since", "until"):
            if _day(values[name]) is None:
                values[name] = ""
        return cls(**values)

    def items(self) -> list[tuple[str, str]]:
        """The filters set, as query-string pairs (for links and the actions form)."""
        return [(f.name, getattr(self, f.name)) for f in fields(self) if getattr(self, f.name)]

    @property
    def active(self) -> bool:
        return bool(self.items())


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


@dataclass
class ImagePage:
    """One page of the list: the images (owner and pool loaded) and each one's copies."""

    images: list[Image]
    copies: dict[int, list[ImageCopy]] = field(default_factory=dict)
    # The ``before`` of the next page; None on the last page.
    next_before: int | None = None


async def _pool_ids(filters: ImageFilters) -> list[int] | None:
    """The pools the pool and node filters leave (None: no such filter)."""
    if not (filters.pool or filters.node):
        return None
    pools = StoragePool.all()
    if filters.pool:
        pools = pools.filter(name=filters.pool)
    if filters.node:
        pools = pools.filter(node_id=filters.node)
    ids: list[int] = await pools.values_list("id", flat=True)  # type: ignore[assignment]
    return ids


# Pools holding at most this many copies and this many primaries count as sparse.
SPARSE = 1000


async def _sparse_ids(ids: list[int]) -> set[int] | None:
    """Every image on the pools when they are sparse (None: they hold more than that)."""
    found: set[int] = set()
    for model, column in ((ImageCopy, "image_id"), (Image, "id")):
        rows = await model.filter(pool_id__in=ids).limit(SPARSE + 1).values_list(column, flat=True)
        if len(rows) > SPARSE:
            return None
        found.update(int(i) for i in rows)  # type: ignore[call-overload]
    return found


async def _on_pools(query: QuerySet[Image], ids: list[int]) -> QuerySet[Image]:
    """Images with a copy on one of the pools, or whose primary is there (the primary's
    copy row appears once processing verified it).

    Which form depends on how many images the pools hold. A few (a new pool, an
    old one nearly drained): their ids, read from the indexes, become the
    filter, and both databases look those rows up by key. Many: a correlated
    lookup of one copy row per image (``image_copies(image_id, pool_id)``),
    with which both walk the ids backwards and stop at the page's end (under
    1 ms when the pools hold a good share of the images). It is a scalar
    sub-select with ``LIMIT 1``, not an EXISTS: under the OR PostgreSQL turns
    an EXISTS into a "hashed SubPlan" that reads every copy of the pools first
    (50,000 for a node: 30 ms a page). SQLite would answer ``id IN (copies)``
    under an OR by collecting every match and sorting them (100 ms for a pool
    of 20,000 images). The ids in the SQL are the pools' own integers, never
    text from the request.
    """
    few = await _sparse_ids(ids)
    if few is not None:
        return query.filter(id__in=sorted(few))
    listed = ", ".join(str(int(i)) for i in ids)
    exists = RawSQL(
        f'("images"."pool_id" IN ({listed}) OR (SELECT 1 FROM "image_copies" c'  # noqa: S608
        f' WHERE c."image_id" = "images"."id" AND c."pool_id" IN ({listed}) LIMIT 1)'
        " IS NOT NULL)"
    )
    return query.annotate(on_pools=exists).filter(on_pools=True)


async def filtered(filters: ImageFilters) -> QuerySet[Image] | None:
    """The images the filters leave, unordered; None when a name matches nothing."""
    query = Image.all()
    if filters.user:
        owner = await User.get_or_none(username=filters.user)
        if owner is None:
            return None
        query = query.filter(owner_id=owner.id)
    pools = await _pool_ids(filters)
    if pools is not None:
        if not pools:
            return None
        query = await _on_pools(query, pools)
    if filters.filename:
        query = query.filter(original_filename__icontains=filters.filename)
    if filters.state == IN_TRASH:
        query = query.filter(deleted_at__isnull=False)
    elif filters.state == NOT_IN_TRASH:
        query = query.filter(deleted_at__isnull=True)
    elif filters.state:
        query = query.filter(state=ImageState(filters.state))
    if filters.visibility:
        query = query.filter(visibility=Visibility(filters.visibility))
    since, until = _day(filters.since), _day(filters.until)
    if since is not None:
        query = query.filter(created_at__gte=_start_of(since))
    if until is not None:
        query = query.filter(created_at__lt=_start_of(until + timedelta(days=1)))
    return query


async def search_images(
    filters: ImageFilters, before: int | None = None, size: int = PAGE_SIZE
) -> ImagePage:
    """The page of images with ids below ``before`` (None: the newest), newest first."""
    query = await filtered(filters)
    if query is None:
        return ImagePage([])
    if before is not None:
        query = query.filter(id__lt=before)
    rows = list(await query.order_by("-id").limit(size + 1).select_related("owner", "pool"))
    more = rows[size - 1].id if len(rows) > size else None
    rows = rows[:size]
    copies: dict[int, list[ImageCopy]] = defaultdict(list)
    if rows:
        found = await ImageCopy.filter(image_id__in=[r.id for r in rows]).select_related("pool")
        for copy in sorted(found, key=lambda c: c.id):
            copies[copy.image_id].append(copy)  # type: ignore[attr-defined]
    return ImagePage(rows, dict(copies), more)
