"""One scrub over a pool: page the app's listing, check each image, repair, report.

The app's listing (``AppAPI.pool_files``) is the truth about what the pool
should hold; the disk is checked against it. Within a page the images are
checked in random order (so a pass that stops early has looked all over the
page, not at its first images only). A pass goes on from a cursor (the last
image id done): the scheduled scrub runs in slices (``jobs``), the CLI from
start to end. Orphans need every path of the pool, so they are looked for only
by a run that saw the whole listing (or by :func:`orphan_faults`, which pages
it again without reading files).

The run's report is one JSON value under ``RedisKeys.node_scrub`` (the node
writes only its own keys), read by the admin's scrub page.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from pixelfox_common.logs import new_request_id
from pixelfox_protocol import layout
from pixelfox_protocol.internal import PoolImageFiles, PoolInfo, RepairPlan, RepairRequest
from pixelfox_protocol.keys import RedisKeys

from ..appapi import AppAPI, AppError, AppRefused, ImageGone
from ..node_jobs.imagelock import ImageBusy, image_lock
from ..processing import ImageLimits, VariantSpec, writable_formats
from . import check
from .check import Fault, Throttle
from .repair import (
    RepairSource,
    quarantine,
    remake_variants,
    repair_original,
    repair_variant,
)

log = logging.getLogger(__name__)

PAGE = 200
# Details kept in a report (the counts are always complete).
MAX_DETAILS = 100


@dataclass(frozen=True)
class ScrubOptions:
    hashes: bool = False
    repair: bool = False
    # Offer the app the originals without a row, from the outbox journal (see adopt).
    adopt: bool = False
    dry_run: bool = False
    bytes_per_second: int = 0  # 0: no cap
    grace_seconds: float = 86400.0
    # Upload parts under .incoming/ are strays only after the longest an upload lives.
    incoming_grace_seconds: float = 0.0


@dataclass
class ScrubReport:
    node_id: str
    pool_id: int
    hashes: bool
    repair: bool
    dry_run: bool
    scheduled: bool = False
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    images: int = 0
    files: int = 0
    bytes_read: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    repaired: dict[str, int] = field(default_factory=dict)
    unrepaired: dict[str, int] = field(default_factory=dict)
    details: list[dict[str, str]] = field(default_factory=list)
    orphans_checked: bool = False
    # With --adopt: each original without a row and its outcome (see adopt.Adoption).
    adoptions: list[dict[str, str]] = field(default_factory=list)

    @property
    def fault_count(self) -> int:
        return sum(self.faults.values())

    def add(self, fault: Fault, outcome: str, how: str = "") -> None:
        """Count a fault; ``outcome`` is found | would-repair | repaired | unrepaired."""
        self.faults[fault.kind] = self.faults.get(fault.kind, 0) + 1
        if outcome in ("repaired", "unrepaired"):
            tally = self.repaired if outcome == "repaired" else self.unrepaired
            tally[fault.kind] = tally.get(fault.kind, 0) + 1
        if len(self.details) < MAX_DETAILS:
            self.details.append(
                {
                    "kind": fault.kind,
                    "path": fault.path,
                    "image_uuid": fault.image_uuid,
                    "detail": fault.detail,
                    "outcome": outcome,
                    "how": how,
                }
            )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ScrubReport:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass
class Scrubber:
    """What a scrub needs: the app, Redis (image locks, the report) and the node's set-up."""

    node_id: str
    api: AppAPI
    redis: Redis
    keys: RedisKeys
    specs: tuple[VariantSpec, ...]
    limits: ImageLimits
    # Tried in order for every file they can bring back (see ``repair``).
    sources: list[RepairSource]

    def variant_kinds(self) -> frozenset[str]:
        writable = writable_formats()
        return frozenset(f"{s.name}.{f}" for s in self.specs for f in s.formats if f in writable)

    async def run(
        self,
        pool: PoolInfo,
        options: ScrubOptions,
        *,
        report: ScrubReport | None = None,
        after: int = 0,
        until: float | None = None,
        progress: Callable[[int, int], None] = lambda done, total: None,
    ) -> tuple[ScrubReport, int | None]:
        """Scrub the pool from image id ``after`` until its end (or, after at least one
        page, the monotonic time ``until``); the report and the cursor to go on from
        (None: the pass is done)."""
        base = Path(pool.base_path)
        if report is None:
            report = ScrubReport(
                self.node_id, pool.id, options.hashes, options.repair, options.dry_run
            )
        throttle = Throttle(options.bytes_per_second)
        kinds = self.variant_kinds()
        whole = after == 0
        known: set[str] = set()
        moving_in = False
        cursor: int | None = after
        while cursor is not None:
            page = await self.api.pool_files(pool.id, cursor, PAGE)
            moving_in = moving_in or page.moving_in
            items = list(page.items)
            random.shuffle(items)
            found = await asyncio.to_thread(self._check_page, base, items, options, throttle, kinds)
            for item in items:
                report.images += 1
                report.files += 1 + len(item.variants)
                if whole:
                    known.update(_both_subtrees(item))
                faults = found.get(item.image_id, [])
                if faults:
                    await self._settle(pool, base, item, faults, options, report)
            progress(report.images, page.total)
            cursor = page.next_after
            if cursor is not None and until is not None and time.monotonic() >= until:
                report.bytes_read += throttle.read
                return report, cursor  # a slice does at least one page, so a pass always ends
        report.bytes_read += throttle.read
        if whole and not moving_in:
            await self._orphans(base, known, options, report)
        report.finished_at = time.time()
        return report, None

    async def orphan_faults(
        self, pool: PoolInfo, options: ScrubOptions, report: ScrubReport
    ) -> None:
        """Look for orphans: the whole listing again (no file is read), then the disk."""
        known: set[str] = set()
        cursor: int | None = 0
        while cursor is not None:
            page = await self.api.pool_files(pool.id, cursor, 1000)
            if page.moving_in:
                return
            for item in page.items:
                known.update(_both_subtrees(item))
            cursor = page.next_after
        await self._orphans(Path(pool.base_path), known, options, report)

    def _check_page(
        self,
        base: Path,
        items: list[PoolImageFiles],
        options: ScrubOptions,
        throttle: Throttle,
        kinds: frozenset[str],
    ) -> dict[int, list[Fault]]:
        faults = {}
        for item in items:
            found = check.check_image(
                base, item, hashes=options.hashes, throttle=throttle, variant_kinds=kinds
            )
            if found:
                faults[item.image_id] = found
        return faults

    async def _orphans(
        self, base: Path, known: set[str], options: ScrubOptions, report: ScrubReport
    ) -> None:
        faults = await asyncio.to_thread(
            partial(
                check.find_orphans,
                grace_seconds=options.grace_seconds,
                incoming_grace_seconds=options.incoming_grace_seconds,
            ),
            base,
            known,
        )
        report.orphans_checked = True
        for fault in faults:
            if not options.repair:
                report.add(fault, "found")
            elif options.dry_run:
                report.add(fault, "would-repair", "quarantine")
            else:
                try:
                    moved = await asyncio.to_thread(quarantine, base, fault.path)
                except FileNotFoundError:
                    continue  # gone meanwhile (another scrub, or its owner took it)
                report.add(fault, "repaired", f"quarantined as {moved}")

    async def _settle(
        self,
        pool: PoolInfo,
        base: Path,
        item: PoolImageFiles,
        faults: list[Fault],
        options: ScrubOptions,
        report: ScrubReport,
    ) -> None:
        if not options.repair:
            for fault in faults:
                report.add(fault, "found")
            return
        if options.dry_run:
            for fault in faults:
                how = "from a source" if fault.role == "original" else "re-made from the original"
                report.add(fault, "would-repair", how)
            return
        try:
            async with image_lock(self.redis, self.keys, self.node_id, item.image_uuid):
                plan, why = await self._plan(pool, item, faults)
                if plan is None:
                    for fault in faults:
                        report.add(fault, "unrepaired", why)
                    return
                await self._repair(pool, base, item, faults, plan, report)
        except ImageBusy:
            for fault in faults:
                report.add(fault, "unrepaired", "another job holds the image; next run")

    async def _plan(
        self, pool: PoolInfo, item: PoolImageFiles, faults: list[Fault]
    ) -> tuple[RepairPlan | None, str]:
        """The app's repair plan for the faulty files, or (None, why there is none): a
        repair must never write the files of an image moved or deleted since into this
        pool, nor any file into a pool that holds no copy of it."""
        paths = [f.path for f in faults if f.role and f.kind != check.MISSING_VARIANT]
        try:
            plan = await self.api.repair_plan(
                item.image_uuid, RepairRequest(pool_id=pool.id, paths=paths)
            )
        except ImageGone:
            return None, "the image is gone since the listing"
        except AppRefused as exc:
            if exc.code == "COPY_NOT_ON_POOL":
                return None, "the image moved since the listing (no copy on this pool now)"
            if exc.code == "POOL_NOT_ON_NODE":
                return None, "the pool is on another node since the listing"
            if exc.code == "VISIBILITY_CHANGING":
                return None, "the image's visibility is changing; next run"
            if exc.code == "MOVE_FILE_UNKNOWN":
                return None, "the image's files changed since the listing; next run"
            return None, f"the app could not say where the image is now: {exc}"
        except AppError as exc:
            return None, f"the app could not say where the image is now: {exc}"
        if plan.original.path != item.original.path:
            return None, f"the image moved since the listing (now {plan.original.path})"
        return plan, ""

    async def _repair(
        self,
        pool: PoolInfo,
        base: Path,
        item: PoolImageFiles,
        faults: list[Fault],
        plan: RepairPlan,
        report: ScrubReport,
    ) -> None:
        original = [f for f in faults if f.role == "original"]
        variants = [f for f in faults if f.role == "variant"]
        original_ok = True
        for fault in original:
            name, why = await repair_original(self.sources, base, pool, item, plan)
            original_ok = bool(name)
            report.add(fault, "repaired" if name else "unrepaired", name or why)
        # A variant with a row may come from a source (another node's copy); the rest,
        # and variants without a row, are made again from the original.
        left = []
        for fault in variants:
            name, why = "", "no row to bring it back by"
            if fault.kind != check.MISSING_VARIANT:
                name, why = await repair_variant(self.sources, base, pool, item, plan, fault.path)
            if name:
                report.add(fault, "repaired", name)
            else:
                left.append((fault, why))
        if not left:
            return
        if not plan.primary:
            # Re-made bytes would not be the primary's, whose hashes the rows hold.
            for fault, why in left:
                report.add(fault, "unrepaired", f"a replica's variants are not re-made; {why}")
            return
        variants = [fault for fault, _ in left]
        if not original_ok:
            for fault in variants:
                report.add(fault, "unrepaired", "the original is not right either")
            return
        damaged = [
            f for f in variants if f.kind != check.MISSING and f.kind != check.MISSING_VARIANT
        ]
        made = await asyncio.to_thread(
            remake_variants, base, item, damaged, self.specs, self.limits
        )
        if made.state != "ready":
            for fault in variants:
                report.add(fault, "unrepaired", f"re-making failed: {made.error}")
            return
        try:
            await self.api.report_variants(item.image_uuid, made, new_request_id())
        except AppError as exc:
            for fault in variants:
                report.add(fault, "unrepaired", f"re-made, the app did not take it: {exc}")
            return
        for fault in variants:
            report.add(fault, "repaired", "re-made from the original")


def _both_subtrees(item: PoolImageFiles) -> list[str]:
    """Every path of an image in both subtrees: a visibility change in flight may have
    renamed its files ahead of the listing."""
    paths = [item.original.path, *(v.path for v in item.variants)]
    return [layout.in_subtree(p, private) for p in paths for private in (False, True)]


async def save_state(
    redis: Redis, keys: RedisKeys, node_id: str, pool_id: int, state: dict[str, Any]
) -> None:
    await redis.set(keys.node_scrub(node_id, pool_id), json.dumps(state, separators=(",", ":")))


async def load_state(redis: Redis, keys: RedisKeys, node_id: str, pool_id: int) -> dict[str, Any]:
    raw = await redis.get(keys.node_scrub(node_id, pool_id))
    try:
        state = json.loads(raw) if raw else {}
    except ValueError:
        state = {}
    return state if isinstance(state, dict) else {}
