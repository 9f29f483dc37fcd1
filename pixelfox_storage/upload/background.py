"""The storage service's upload chores: outbox delivery, pool-map refresh, temp-file sweep,
and following nginx's spool files (only on a node that takes spooled bodies).

Each runs as one task for the life of the process (started in ``install``),
survives its own errors, and stops when the service shuts down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from pixelfox_common.ingest import sweep_incoming
from pixelfox_protocol.layout import UnsafePath
from pixelfox_protocol.links import resolve_file

from .completion import deliver
from .node import UploadNode
from .outbox import OutboxEntry
from .spooled import SPOOL_DIR, SpoolFollower, sweep_spool

log = logging.getLogger(__name__)

POOL_REFRESH_SECONDS = 60.0
# The outbox looks again at least this often, even when nothing woke it.
OUTBOX_IDLE_SECONDS = 30.0
QUARANTINE_DIR = ".quarantine"


async def forever(name: str, step: Callable[[], Awaitable[float]]) -> None:
    """Call ``step`` again and again; it returns how long to sleep. Errors are logged."""
    while True:
        try:
            delay = await step()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed; trying again shortly", name)
            delay = 5.0
        await asyncio.sleep(delay)


def start(node: UploadNode) -> None:
    node.keep(forever("outbox", lambda: drain_outbox(node)), "upload-outbox")
    node.keep(forever("pool refresh", lambda: _refresh(node)), "upload-pool-refresh")
    node.keep(forever("incoming sweep", lambda: sweep(node)), "upload-sweep")
    if node.settings.spool_secret:
        node.keep(follow_spools(node), "upload-spool-follower")


async def follow_spools(node: UploadNode) -> None:
    """Run the spool follower's threads until the service stops; tell it the pools meanwhile."""
    follower = SpoolFollower(max_age=node.settings.upload_temp_max_age)
    follower.spools = _spools(node)
    follower.start()
    node.follower = follower
    try:
        while True:
            await asyncio.sleep(1.0)
            follower.spools = _spools(node)
    finally:
        node.follower = None
        follower.stop()  # its threads notice within milliseconds


def _spools(node: UploadNode) -> list[tuple[Path, Path]]:
    return [(Path(p.base_path) / SPOOL_DIR, Path(p.base_path)) for p in node.known_pools()]


async def _refresh(node: UploadNode) -> float:
    await asyncio.sleep(POOL_REFRESH_SECONDS)
    await node.refresh_pools()
    return 0.0


async def sweep(node: UploadNode) -> float:
    """Remove stale temporary files of every known pool; returns the next interval."""
    max_age = node.settings.upload_temp_max_age
    for pool in node.known_pools():
        base = Path(pool.base_path)
        removed = await asyncio.to_thread(sweep_incoming, base, max_age)
        removed += await asyncio.to_thread(sweep_spool, base, max_age)
        if removed:
            log.info("removed %d stale temporary upload file(s) in pool %s", removed, pool.id)
    return float(node.settings.upload_sweep_seconds)


async def drain_outbox(node: UploadNode) -> float:
    """Deliver every due outbox entry once; returns how long until the next is due."""
    assert node.client is not None
    outbox = node.outbox
    node.outbox_wake.clear()
    now = time.time()
    next_due = now + OUTBOX_IDLE_SECONDS
    for path, entry in await asyncio.to_thread(outbox.entries):
        if entry.next_attempt > now:
            next_due = min(next_due, entry.next_attempt)
            continue
        uuid = entry.completion.image_uuid
        if await asyncio.to_thread(_stored_file, node, entry) is False:
            # A write-ahead record whose upload failed or crashed before its commit.
            await asyncio.to_thread(outbox.done, path)
            log.info("outbox: upload %s was never committed; record dropped", uuid)
            continue
        delivery = await deliver(node.client, entry.completion, entry.request_id)
        if delivery.outcome == "accepted":
            # Only a 2xx: the app answers a completion it recorded before with the same 2xx.
            await asyncio.to_thread(outbox.delivered, path)
            log.info("outbox delivered upload %s after %d attempt(s)", uuid, entry.attempts + 1)
        elif delivery.outcome == "unreachable":
            delay = await asyncio.to_thread(outbox.retry_later, path, entry, delivery.detail)
            next_due = min(next_due, time.time() + delay)
            log.info("outbox: app still unreachable for %s (%s)", uuid, delivery.detail)
        else:
            code = delivery.code
            await asyncio.to_thread(_quarantine, node, entry)
            await asyncio.to_thread(outbox.quarantine, path, entry, code)
            log.error(
                "app refused queued upload %s (%s: %s); record and file quarantined",
                uuid,
                code,
                delivery.detail,
            )
    keep = node.settings.outbox_journal_days * 86400
    await asyncio.to_thread(outbox.prune_journal, keep)
    # Sleep until the next entry is due, or until a fresh entry wakes us.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(node.outbox_wake.wait(), max(0.05, next_due - time.time()))
    return 0.0


def _file_of(node: UploadNode, entry: OutboxEntry) -> tuple[Path, Path] | None:
    """(pool base, file) of a record; None when its pool is unknown or its path unsafe."""
    pool = next((p for p in node.known_pools() if p.id == entry.completion.pool_id), None)
    if pool is None:
        return None
    base = Path(pool.base_path)
    try:
        return base, resolve_file(base, entry.completion.path)
    except UnsafePath:
        log.error("outbox record with an unsafe path %r", entry.completion.path)
        return None


def _stored_file(node: UploadNode, entry: OutboxEntry) -> bool | None:
    """Whether the record's file exists; None when that cannot be told."""
    found = _file_of(node, entry)
    return None if found is None else found[1].is_file()


def _quarantine(node: UploadNode, entry: OutboxEntry) -> None:
    """Move a refused upload's file out of ``original/`` (kept for an operator, not served)."""
    found = _file_of(node, entry)
    if found is None:
        log.error(
            "cannot quarantine %s of pool %s", entry.completion.path, entry.completion.pool_id
        )
        return
    base, source = found
    target = base / QUARANTINE_DIR
    target.mkdir(mode=0o750, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        os.replace(source, target / source.name)
