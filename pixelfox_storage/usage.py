"""Bytes used by each pool on this node: the last full scan plus what was stored since.

Used bytes must be cheap to know every few seconds on a pool of millions of
files, so they are a running figure: a full scan of the pool directory now and
then (``RESCAN_SECONDS``, in a thread, remembered in ``<state_dir>/pool-usage.json``
so a restart does not start from nothing), plus the bytes this process stored
since that scan began. The upload path calls :func:`note_ingested` once per
committed upload. Variants written by the worker and files moved away show up
at the next scan.

A pool that was never scanned (no remembered figure, first scan still running)
has *no* figure: :meth:`UsageTracker.used` answers None rather than 0, so the
heartbeat can report something honest instead of an empty pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pixelfox_protocol.internal import PoolInfo

log = logging.getLogger(__name__)

# Full scans of a pool's files; between scans the running counter is used.
RESCAN_SECONDS = 600.0
USAGE_CACHE = "pool-usage.json"

# Bytes this process stored per pool since it started (only the event loop writes it).
_ingested: defaultdict[int, int] = defaultdict(int)


def note_ingested(pool_id: int, size: int) -> None:
    """Count one committed upload of ``size`` bytes into ``pool_id``."""
    _ingested[pool_id] += size


def ingested_bytes(pool_id: int) -> int:
    """Bytes this process stored into ``pool_id`` so far."""
    return _ingested.get(pool_id, 0)


def scan_used_bytes(base: Path) -> int:
    """Bytes of every regular file under ``base`` (symlinks are not followed)."""
    total = 0
    stack = [base]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=False):
                    total += entry.stat(follow_symlinks=False).st_size
            except OSError:
                continue
    return total


@dataclass
class _Usage:
    scanned: int = 0
    # The ingest counter when the scan that produced ``scanned`` began.
    ingested_at_scan: int = 0
    scanned_at: float = 0.0


@dataclass
class UsageTracker:
    """Used bytes per pool: the last full scan plus what was stored since."""

    state_dir: Path
    rescan_seconds: float = RESCAN_SECONDS
    # How a pool is counted (run in a thread); tests slow it down to see a big pool.
    scan: Callable[[Path], int] = scan_used_bytes
    pools: dict[int, _Usage] = field(default_factory=dict)
    _scanning: asyncio.Task[None] | None = None

    def load(self) -> None:
        """Start from the last scan's figures, if a previous run left them."""
        try:
            data = json.loads((self.state_dir / USAGE_CACHE).read_text())
        except (OSError, ValueError):
            return
        for key, value in data.items() if isinstance(data, dict) else ():
            with contextlib.suppress(TypeError, ValueError, KeyError):
                pool_id = int(key)
                # The scan counted what was stored before now: count from here on.
                self.pools[pool_id] = _Usage(
                    int(value["used"]), ingested_bytes(pool_id), float(value["scanned_at"])
                )

    def _save(self) -> None:
        data = {
            str(pid): {"used": u.scanned, "scanned_at": u.scanned_at}
            for pid, u in self.pools.items()
        }
        self.state_dir.mkdir(parents=True, exist_ok=True)
        target = self.state_dir / USAGE_CACHE
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, target)

    def used(self, pool_id: int) -> int | None:
        """Used bytes of ``pool_id``; None while it has never been measured."""
        usage = self.pools.get(pool_id)
        if usage is None:
            return None
        return usage.scanned + max(0, ingested_bytes(pool_id) - usage.ingested_at_scan)

    def maybe_rescan(self, pools: list[PoolInfo]) -> None:
        """Start a scan in a thread when one is due (never two at once)."""
        if self._scanning is not None and not self._scanning.done():
            return
        now = time.time()
        due = [
            p
            for p in pools
            if p.id not in self.pools or now - self.pools[p.id].scanned_at >= self.rescan_seconds
        ]
        if due:
            self._scanning = asyncio.get_running_loop().create_task(self._scan(due))

    async def measured(self, pools: list[PoolInfo], seconds: float) -> bool:
        """Wait up to ``seconds`` until every pool has a figure; True when they all have.

        The scan goes on after a timeout (its figure is used once it is there).
        """
        scanning = self._scanning
        if scanning is not None and any(self.used(p.id) is None for p in pools):
            await asyncio.wait({scanning}, timeout=seconds)  # neither raises nor cancels
        return all(self.used(p.id) is not None for p in pools)

    async def _scan(self, pools: list[PoolInfo]) -> None:
        for pool in pools:
            started_at = ingested_bytes(pool.id)
            began = time.monotonic()
            total = await asyncio.to_thread(self.scan, Path(pool.base_path))
            self.pools[pool.id] = _Usage(total, started_at, time.time())
            log.debug(
                "scanned pool %s: %d bytes in %.1f s", pool.id, total, time.monotonic() - began
            )
        try:
            await asyncio.to_thread(self._save)
        except OSError as exc:
            log.warning("could not remember pool usage in %s: %s", self.state_dir, exc)

    async def close(self) -> None:
        if self._scanning is not None and not self._scanning.done():
            self._scanning.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._scanning
