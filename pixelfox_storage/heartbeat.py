"""The node's heartbeat: every few seconds, what the app needs to place uploads here.

Each beat (``HEARTBEAT_PATH`` on the app, with this node's credential) carries,
per pool: free bytes of the pool's disk, bytes used by the pool's files, the
capacity (the operator's ``capacity_bytes``, else the disk's size) and used %;
and for the node: uploads streaming in right now, the depth of both worker
lanes, server errors per minute and the software version.

Used bytes must be cheap to know every five seconds on a pool of millions of
files, so they are a running figure: a full scan of the pool directory now and
then (``RESCAN_SECONDS``, in a thread, remembered in ``<state_dir>/pool-usage.json``
so a restart does not report zero), plus the bytes this process stored since
that scan began. Variants written by the worker and files moved away show up
at the next scan.

The first beat is sent while the service starts, before it accepts uploads,
so the app can place uploads here as soon as the node answers at all. The app
takes a node out of placement when beats stop (see ``pixelfox_app.placement``):
keep ``PIXELFOX_HEARTBEAT_SECONDS`` at 5 or below.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from prometheus_client.core import REGISTRY
from quart import Quart
from redis.asyncio import Redis

from pixelfox_common import metrics
from pixelfox_protocol.internal import (
    HEARTBEAT_PATH,
    Heartbeat,
    PoolHeartbeat,
    PoolInfo,
    node_authorization,
)
from pixelfox_protocol.keys import RedisKeys

from .config import StorageSettings

log = logging.getLogger(__name__)

# A beat must never hold the loop for long: a slow app gets the next beat instead.
BEAT_TIMEOUT = httpx.Timeout(3.0, connect=2.0)
# Full scans of a pool's files; between scans the running counter is used.
RESCAN_SECONDS = 600.0
# Server errors are counted over this window and reported per minute.
ERROR_WINDOW_SECONDS = 60.0
USAGE_CACHE = "pool-usage.json"
# Above this interval the app's 12 s freshness limit lets a healthy node flap.
MAX_SAFE_INTERVAL = 5


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


def ingested_bytes(pool_id: int) -> int:
    """Bytes this process stored into ``pool_id`` so far (the upload endpoint's counter)."""
    value = REGISTRY.get_sample_value(
        "pixelfox_upload_bytes_ingested_total", {"pool": str(pool_id)}
    )
    return int(value or 0)


def uploads_in_flight() -> int:
    """Uploads streaming into this process right now."""
    return int(REGISTRY.get_sample_value("pixelfox_uploads_in_flight") or 0)


def server_errors_total() -> int:
    """Answers with a 5xx status since this process started."""
    total = 0.0
    for family in metrics.HTTP_REQUESTS.collect():
        for sample in family.samples:
            if sample.name.endswith("_total") and sample.labels.get("status", "").startswith("5"):
                total += sample.value
    return int(total)


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
                # The ingest counter restarted with this process: start it at zero.
                self.pools[int(key)] = _Usage(int(value["used"]), 0, float(value["scanned_at"]))

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

    def used(self, pool_id: int) -> int:
        usage = self.pools.get(pool_id)
        if usage is None:
            return 0
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

    async def _scan(self, pools: list[PoolInfo]) -> None:
        for pool in pools:
            started_at = ingested_bytes(pool.id)
            began = time.monotonic()
            total = await asyncio.to_thread(scan_used_bytes, Path(pool.base_path))
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


@dataclass
class ErrorRate:
    """Server errors per minute over the last ``ERROR_WINDOW_SECONDS``."""

    window: float = ERROR_WINDOW_SECONDS
    samples: deque[tuple[float, int]] = field(default_factory=deque)

    def sample(self, now: float, total: int) -> float:
        self.samples.append((now, total))
        while len(self.samples) > 2 and now - self.samples[1][0] >= self.window:
            self.samples.popleft()
        first_at, first_total = self.samples[0]
        elapsed = now - first_at
        if elapsed <= 0:
            return 0.0
        return round((total - first_total) * 60.0 / elapsed, 2)


def _disk(base: Path) -> tuple[int, int] | None:
    """(free, total) bytes of the disk holding ``base``; None when it is not there."""
    if not base.is_dir():
        return None
    usage = shutil.disk_usage(base)
    return usage.free, usage.total


class HeartbeatSender:
    """Builds and sends this node's beats."""

    def __init__(
        self,
        settings: StorageSettings,
        version: str,
        pools: Callable[[], list[PoolInfo]],
        redis: Callable[[], Redis | None],
    ) -> None:
        self.settings = settings
        self.version = version
        self.pools = pools
        self.redis = redis
        self.keys = RedisKeys(settings.redis_prefix)
        self.usage = UsageTracker(settings.state_dir)
        self.errors = ErrorRate()
        self.client: httpx.AsyncClient | None = None
        self._failing: str | None = None  # the last failure, logged once until it changes
        self._missing: set[int] = set()  # pools whose directory is gone, logged once

    async def open(self) -> None:
        self.client = httpx.AsyncClient(timeout=BEAT_TIMEOUT)
        self.usage.load()

    async def close(self) -> None:
        await self.usage.close()
        if self.client is not None:
            await self.client.aclose()

    async def _pool_beats(self, pools: list[PoolInfo]) -> list[PoolHeartbeat]:
        disks = await asyncio.to_thread(lambda: [_disk(Path(p.base_path)) for p in pools])
        beats: list[PoolHeartbeat] = []
        for pool, disk in zip(pools, disks, strict=True):
            if disk is None:
                # Not reported = not placed: a pool whose disk is gone takes no uploads.
                if pool.id not in self._missing:
                    log.warning("pool %s: base path %s is missing", pool.id, pool.base_path)
                    self._missing.add(pool.id)
                continue
            self._missing.discard(pool.id)
            free, total = disk
            used = self.usage.used(pool.id)
            capacity = pool.capacity_bytes if pool.capacity_bytes > 0 else total
            beats.append(
                PoolHeartbeat(
                    pool_id=pool.id,
                    free_bytes=free,
                    used_bytes=used,
                    capacity_bytes=capacity,
                    used_pct=round(100.0 * used / capacity, 3) if capacity else 0.0,
                )
            )
            metrics.set_pool_space(pool.id, free=free, used=used, capacity=capacity)
        return beats

    async def _queue_depths(self) -> tuple[int, int]:
        redis = self.redis()
        if redis is None:
            return 0, 0
        node = self.settings.node_id
        try:
            async with redis.pipeline(transaction=False) as pipe:
                pipe.zcard(self.keys.node_queue(node))
                pipe.zcard(self.keys.node_background_queue(node))
                fresh, background = await pipe.execute()
        except Exception as exc:  # Redis down must not stop the beat: the app wants to know
            log.warning("queue depth unavailable: %s", exc)
            return 0, 0
        return int(fresh), int(background)

    async def build(self) -> Heartbeat:
        """This moment's beat."""
        pools = self.pools()
        self.usage.maybe_rescan(pools)
        fresh, background = await self._queue_depths()
        return Heartbeat(
            node_id=self.settings.node_id,
            version=self.version,
            pools=await self._pool_beats(pools),
            active_uploads=uploads_in_flight(),
            queue_depth=fresh,
            background_queue_depth=background,
            errors_per_minute=self.errors.sample(time.monotonic(), server_errors_total()),
        )

    async def beat(self) -> bool:
        """Send one beat; True when the app took it. Never raises on HTTP trouble."""
        assert self.client is not None
        beat = await self.build()
        url = self.settings.app_url.rstrip("/") + HEARTBEAT_PATH
        auth = node_authorization(self.settings.node_id, self.settings.node_credential)
        try:
            response = await self.client.post(
                url, json=beat.model_dump(), headers={"Authorization": auth}
            )
        except httpx.HTTPError as exc:
            self._failed(f"app unreachable at {url}: {type(exc).__name__}: {exc}")
            return False
        if response.status_code == 401:
            self._failed("the app refuses this node's credential; check PIXELFOX_NODE_CREDENTIAL")
            return False
        if not response.is_success:
            self._failed(f"app answered the heartbeat with HTTP {response.status_code}")
            return False
        if self._failing is not None:
            log.info("heartbeat accepted again")
            self._failing = None
        return True

    def _failed(self, why: str) -> None:
        if why != self._failing:
            log.warning("heartbeat not delivered: %s", why)
        self._failing = why

    async def run(self) -> None:
        """Beat every ``heartbeat_seconds`` (start to start) until cancelled.

        Waits one interval first: the start-up beat was just sent.
        """
        interval = float(self.settings.heartbeat_seconds)
        started = time.monotonic()
        while True:
            await asyncio.sleep(max(0.5, interval - (time.monotonic() - started)))
            started = time.monotonic()
            try:
                await self.beat()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("heartbeat failed; trying again")


def install(app: Quart, settings: StorageSettings, version: str) -> None:
    """Beat while the storage service runs; the first beat goes out during start-up.

    Register after the upload module: its start-up loads the pool map the beat reports.
    ``PIXELFOX_HEARTBEAT_SECONDS=0`` switches beating off (a node outside placement).
    """
    if settings.heartbeat_seconds <= 0:
        log.warning("heartbeat switched off: the app will not place uploads on this node")
        return
    if settings.heartbeat_seconds > MAX_SAFE_INTERVAL:
        log.warning(
            "PIXELFOX_HEARTBEAT_SECONDS=%s: above %s s the app may take this node out of placement",
            settings.heartbeat_seconds,
            MAX_SAFE_INTERVAL,
        )

    def pools() -> list[PoolInfo]:
        upload = app.extensions.get("upload")
        return upload.known_pools() if upload is not None else []

    sender = HeartbeatSender(settings, version, pools, lambda: app.extensions.get("redis"))
    tasks: list[asyncio.Task[None]] = []

    @app.before_serving
    async def _start_heartbeat() -> None:
        await sender.open()
        try:
            await sender.beat()
        except Exception:
            log.exception("first heartbeat failed")
        tasks.append(asyncio.get_running_loop().create_task(sender.run(), name="heartbeat"))

    @app.after_serving
    async def _stop_heartbeat() -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        tasks.clear()
        await sender.close()
