"""``pixelfox scrub --adopt``: offer the app the originals on a pool that have no row.

After the app's database was restored from an older backup, the images uploaded
since have files on the nodes but no rows. Each such original is looked up in
the outbox journal (:mod:`pixelfox_storage.upload.outbox`): the completion the
app accepted once, with the upload token it signed. The file must still be
that completion's (same place, bytes and SHA-256, read again here); then the
record is offered to the app (``AppAPI.adopt``), which checks the token and
decides (:mod:`pixelfox_app.internal.adopt`). An original without a journal
record is left to the scrub's orphan handling.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from pathlib import Path

from pixelfox_protocol import layout
from pixelfox_protocol.internal import AdoptProposal, PoolInfo

from ..appapi import AppAPI, AppError, AppRefused
from ..upload.outbox import Outbox, OutboxEntry
from . import check
from .check import Throttle

ADOPTED = "adopted"
# A dry run offers nothing: the app, not the node, checks the token.
WOULD_OFFER = "would-offer"
HAD_ROW = "had-row"
NO_JOURNAL = "no-journal"
PENDING = "pending"
MISMATCH = "mismatch"
REFUSED = "refused"
# Outcomes that leave an original without a row it should have.
LEFT = (NO_JOURNAL, MISMATCH, REFUSED)


@dataclass(frozen=True)
class Adoption:
    path: str
    image_uuid: str
    outcome: str
    detail: str = ""

    def to_json(self) -> dict[str, str]:
        return asdict(self)


async def adopt_pool(
    api: AppAPI, outbox: Outbox, pool: PoolInfo, *, dry_run: bool, throttle: Throttle
) -> list[Adoption] | None:
    """Each original of ``pool`` without a row, and what became of it; None while a
    move into the pool runs (its incoming files have no rows yet either)."""
    known: set[str] = set()
    cursor: int | None = 0
    while cursor is not None:
        page = await api.pool_files(pool.id, cursor, 1000)
        if page.moving_in:
            return None
        for item in page.items:
            paths = [item.original.path, *(v.path for v in item.variants)]
            known.update(layout.in_subtree(p, private) for p in paths for private in (False, True))
        cursor = page.next_after
    base = Path(pool.base_path)
    rowless = await asyncio.to_thread(_rowless_originals, base, known)
    found = []
    for rel in rowless:
        image_uuid = _uuid_of(rel)
        entry = await asyncio.to_thread(outbox.journal, image_uuid) if image_uuid else None
        if entry is None and image_uuid and await asyncio.to_thread(outbox.pending, image_uuid):
            # An upload whose completion is still on its way: the outbox delivers it.
            found.append(Adoption(rel, image_uuid, PENDING, "its completion is on its way"))
            continue
        if entry is None:
            found.append(Adoption(rel, image_uuid, NO_JOURNAL, "no outbox journal record"))
            continue
        why = await asyncio.to_thread(_unlike, base, rel, pool, entry, throttle)
        if why:
            found.append(Adoption(rel, image_uuid, MISMATCH, why))
        elif dry_run:
            found.append(Adoption(rel, image_uuid, WOULD_OFFER))
        else:
            found.append(await _offer(api, rel, image_uuid, entry))
    return found


def _rowless_originals(base: Path, known: set[str]) -> list[str]:
    return sorted(
        rel
        for rel in check.image_files_on_disk(base)
        if rel not in known and Path(layout.in_subtree(rel, False)).parts[0] == "original"
    )


def _uuid_of(rel: str) -> str:
    try:
        return layout.image_file(rel)
    except layout.UnsafePath:
        return ""


def _unlike(base: Path, rel: str, pool: PoolInfo, entry: OutboxEntry, throttle: Throttle) -> str:
    """Why the file is not the journal's upload ("" if it is)."""
    completion = entry.completion
    if completion.pool_id != pool.id or completion.path != rel:
        return f"the journal has it at pool {completion.pool_id} {completion.path}"
    if not entry.token:
        return "the journal record has no upload token"
    try:
        size = (base / rel).stat().st_size
        if size != completion.size:
            return f"{size} bytes, the journal says {completion.size}"
        digest = check.sha256_of(base / rel, throttle)
    except FileNotFoundError:
        return "gone meanwhile"
    if digest != completion.sha256:
        return "its SHA-256 is not the journal's"
    return ""


async def _offer(api: AppAPI, rel: str, image_uuid: str, entry: OutboxEntry) -> Adoption:
    proposal = AdoptProposal(token=entry.token, completion=entry.completion)
    try:
        result = await api.adopt(proposal)
    except AppRefused as exc:
        return Adoption(rel, image_uuid, REFUSED, exc.code)
    except AppError as exc:
        return Adoption(rel, image_uuid, REFUSED, f"the app did not answer: {exc}")
    if not result.adopted:
        return Adoption(rel, image_uuid, HAD_ROW, result.view_url)
    return Adoption(rel, image_uuid, ADOPTED, result.view_url)
