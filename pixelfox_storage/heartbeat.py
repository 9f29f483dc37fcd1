"""The node's heartbeat: every few seconds, what the app needs to place uploads here.

Each beat (``HEARTBEAT_PATH`` on the app, with this node's credential) carries,
per pool: free bytes of the pool's disk, bytes used by the pool's files, the
capacity (the operator's ``capacity_bytes``, else the disk's size) and used %;
and for the node: uploads streaming in right now, the depth of both worker
lanes, server errors per minute and the software version.

Used bytes come from :mod:`pixelfox_storage.usage` (last scan plus what was
stored since). A pool that has never been measured — a first start without a
remembered figure, or a big pool whose first scan is still running — is
reported with the bytes used on its *disk*: an upper bound of what the pool
holds, so the app sees it fuller than it is, never empty, and least-used
placement cannot overfill it while it is being counted. The first beat waits
for the first scan (at most ``FIRST_SCAN_WAIT`` seconds), so a pool of
ordinary size is reported exactly from the start.

The first beat is sent while the service starts, before it accepts uploads,
so the app can place uploads here as soon as the node answers at all. Beats
are begun every interval, start to start. The app takes a node out of
placement when beats stop (see ``pixelfox_app.placement``): keep
``PIXELFOX_HEARTBEAT_SECONDS`` at 5 or below.

Each beat also counts the uploads the app refused after they were stored (the
outbox quarantine, :mod:`pixelfox_storage.upload.outbox`), for the admin.

The app answers each beat with the node's pool map (``NodeConfig``, with its
``version``); the upload side adopts a changed map at once and the next beat,
sent right away, names the version it now holds (``pool_map_version``). So a
pool made inactive or added reaches the node within one beat, and
``pixelfox nodes pool-maps --wait`` can tell when every node has it.
"""

from __future__ import annotations

import asyncio
import logging
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
    Heartbeat,
    NodeConfig,
    PoolHeartbeat,
    PoolInfo,
    QuarantinedUpload,
)
from pixelfox_protocol.keys import RedisKeys

from .appapi import AppAPI, AppRefused, AppUnavailable
from .config import StorageSettings
from .usage import UsageTracker

log = logging.getLogger(__name__)

# A beat must never hold the loop for long: a slow app gets the next beat instead.
BEAT_TIMEOUT = httpx.Timeout(3.0, connect=2.0)
# How long the start-up beat waits for the first scan of pools never measured
# (it holds the service's start): long enough for a pool of ordinary size.
FIRST_SCAN_WAIT = 5.0
# Server errors are counted over this window and reported per minute.
ERROR_WINDOW_SECONDS = 60.0
# Above this interval the app's 12 s freshness limit lets a healthy node flap.
MAX_SAFE_INTERVAL = 5

Quarantine = Callable[[], tuple[int, list[QuarantinedUpload]]]
# Takes the pool map of a heartbeat answer; True when it differed from the one held.
AdoptConfig = Callable[[NodeConfig], bool]


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


@dataclass(frozen=True)
class _Disk:
    free: int
    total: int
    used: int


def _disk(base: Path) -> _Disk | None:
    """Space of the disk holding ``base``; None when it is not there."""
    if not base.is_dir():
        return None
    usage = shutil.disk_usage(base)
    return _Disk(usage.free, usage.total, usage.used)


def _nothing_quarantined() -> tuple[int, list[QuarantinedUpload]]:
    return 0, []


def _ignore_config(config: NodeConfig) -> bool:
    return False


class HeartbeatSender:
    """Builds and sends this node's beats."""

    def __init__(
        self,
        settings: StorageSettings,
        version: str,
        pools: Callable[[], list[PoolInfo]],
        redis: Callable[[], Redis | None],
        quarantine: Quarantine = _nothing_quarantined,
        usage: UsageTracker | None = None,
        adopt_config: AdoptConfig = _ignore_config,
        pool_map_version: Callable[[], str] = str,
    ) -> None:
        self.settings = settings
        self.version = version
        self.pools = pools
        self.redis = redis
        self.quarantine = quarantine
        self.adopt_config = adopt_config
        self.pool_map_version = pool_map_version
        self.keys = RedisKeys(settings.redis_prefix)
        self.usage = usage or UsageTracker(settings.state_dir)
        self.errors = ErrorRate()
        self.api: AppAPI | None = None
        self.last_started = float("-inf")  # monotonic start of the latest beat
        self._failing: str | None = None  # the last failure, logged once until it changes
        self._missing: set[int] = set()  # pools whose directory is gone, logged once
        self._estimated: set[int] = set()  # pools reported by their disk's figure, logged once

    async def open(self) -> None:
        self.api = AppAPI(self.settings, timeout=BEAT_TIMEOUT)
        self.usage.load()

    async def close(self) -> None:
        await self.usage.close()
        if self.api is not None:
            await self.api.aclose()

    def _used(self, pool: PoolInfo, disk: _Disk) -> int:
        used = self.usage.used(pool.id)
        if used is not None:
            self._estimated.discard(pool.id)
            return used
        # Not measured yet: the disk's used bytes bound the pool's from above.
        # Zero would read as an empty pool and draw every least-used upload.
        if pool.id not in self._estimated:
            log.info("pool %s: first scan still running; reporting its disk's used bytes", pool.id)
            self._estimated.add(pool.id)
        return disk.used

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
            used = self._used(pool, disk)
            capacity = pool.capacity_bytes if pool.capacity_bytes > 0 else disk.total
            beats.append(
                PoolHeartbeat(
                    pool_id=pool.id,
                    free_bytes=disk.free,
                    used_bytes=used,
                    capacity_bytes=capacity,
                    used_pct=round(100.0 * used / capacity, 3) if capacity else 0.0,
                )
            )
            metrics.set_pool_space(pool.id, free=disk.free, used=used, capacity=capacity)
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

    async def build(self, wait_for_scan: float = 0.0) -> Heartbeat:
        """This moment's beat; waits up to ``wait_for_scan`` s for pools never measured."""
        sent_at = time.time()
        pools = self.pools()
        self.usage.maybe_rescan(pools)
        if wait_for_scan > 0:
            await self.usage.measured(pools, wait_for_scan)
        fresh, background = await self._queue_depths()
        quarantined, newest = await asyncio.to_thread(self.quarantine)
        return Heartbeat(
            node_id=self.settings.node_id,
            version=self.version,
            pools=await self._pool_beats(pools),
            active_uploads=uploads_in_flight(),
            queue_depth=fresh,
            background_queue_depth=background,
            errors_per_minute=self.errors.sample(time.monotonic(), server_errors_total()),
            sent_at=sent_at,
            quarantined_uploads=quarantined,
            quarantined=newest,
            pool_map_version=self.pool_map_version(),
        )

    async def beat(self, wait_for_scan: float = 0.0) -> bool:
        """Send one beat; True when the app took it. Never raises on HTTP trouble."""
        assert self.api is not None
        self.last_started = time.monotonic()
        beat = await self.build(wait_for_scan)
        try:
            config = await self.api.heartbeat(beat)
        except AppUnavailable as exc:
            if exc.status == 401:
                self._failed(
                    "the app refuses this node's credential; check PIXELFOX_NODE_CREDENTIAL"
                )
            else:
                self._failed(str(exc))
            return False
        except AppRefused as exc:
            self._failed(f"the app refused the heartbeat: {exc}")
            return False
        if self._failing is not None:
            log.info("heartbeat accepted again")
            self._failing = None
        if self.adopt_config(config):
            # A new pool map: say so at once (the app waits for it in a drain), not
            # one interval later.
            self.last_started = float("-inf")
        return True

    def _failed(self, why: str) -> None:
        if why != self._failing:
            log.warning("heartbeat not delivered: %s", why)
        self._failing = why

    async def run(self) -> None:
        """Beat every ``heartbeat_seconds``, start to start (the start-up beat's too), until
        cancelled."""
        interval = float(self.settings.heartbeat_seconds)
        while True:
            await asyncio.sleep(max(0.5, interval - (time.monotonic() - self.last_started)))
            try:
                await self.beat()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("heartbeat failed; trying again")


def install(app: Quart, settings: StorageSettings, version: str) -> None:
    """Beat while the storage service runs; the first beat goes out during start-up.

    Register after the upload module: its start-up loads the pool map the beat
    reports, and its outbox holds the quarantine the beat counts.
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

    def quarantine() -> tuple[int, list[QuarantinedUpload]]:
        upload = app.extensions.get("upload")
        return upload.outbox.quarantined() if upload is not None else (0, [])

    def adopt_config(config: NodeConfig) -> bool:
        upload = app.extensions.get("upload")
        return upload.adopt_config(config) if upload is not None else False

    def pool_map_version() -> str:
        upload = app.extensions.get("upload")
        return upload.pool_map_version() if upload is not None else ""

    sender = HeartbeatSender(
        settings,
        version,
        pools,
        lambda: app.extensions.get("redis"),
        quarantine,
        adopt_config=adopt_config,
        pool_map_version=pool_map_version,
    )
    tasks: list[asyncio.Task[None]] = []

    @app.before_serving
    async def _start_heartbeat() -> None:
        await sender.open()
        try:
            # What the app stores now decides placement until the next beat: give
            # the first scan a moment rather than report a guess.
            await sender.beat(wait_for_scan=FIRST_SCAN_WAIT)
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
