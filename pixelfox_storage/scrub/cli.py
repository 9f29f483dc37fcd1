"""What ``pixelfox scrub`` and ``pixelfox quarantine`` run on the node, outside a worker."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import httpx

from pixelfox_common import tls
from pixelfox_protocol.keys import RedisKeys

from ..appapi import AppAPI
from ..backup.store import client_for
from ..config import StorageSettings
from ..node_jobs.context import NODE_TIMEOUT
from ..node_jobs.queue import connect
from ..pools import load_pool_map
from ..processing import ImageLimits, parse_variants
from ..upload.outbox import OUTBOX_DIR, Outbox
from .adopt import adopt_pool
from .check import Throttle
from .peer import CopySource
from .repair import BackupSource
from .run import Scrubber, ScrubOptions, ScrubReport, load_state, save_state

APP_TIMEOUT = httpx.Timeout(30.0, connect=5.0)


class ScrubFailed(Exception):
    """The scrub cannot start: unknown pool, app or Redis unreachable."""


async def pool_base(settings: StorageSettings, pool_id: int) -> Path:
    async with AppAPI(settings, timeout=APP_TIMEOUT) as api:
        try:
            pool_map = await load_pool_map(settings, api)
        except Exception as exc:
            raise ScrubFailed(f"{type(exc).__name__}: {exc}") from exc
    if pool_id not in pool_map.pools:
        raise ScrubFailed(f"pool {pool_id} is not on node {settings.node_id}")
    return Path(pool_map.pools[pool_id].base_path)


async def scrub_node(
    settings: StorageSettings,
    options: ScrubOptions,
    *,
    pool_id: int | None = None,
    progress: Callable[[int, int, int], None] = lambda pool, done, total: None,
) -> list[ScrubReport]:
    """Scrub one pool of this node, or all; each report is kept for the admin too."""
    keys = RedisKeys(settings.redis_prefix)
    reports = []
    peers = httpx.AsyncClient(timeout=NODE_TIMEOUT, verify=tls.http_verify(settings.ca_file))
    async with AppAPI(settings, timeout=APP_TIMEOUT) as api, peers:
        try:
            pool_map = await load_pool_map(settings, api)
            redis = await connect(settings.redis_url, settings.ca_file)
        except Exception as exc:
            raise ScrubFailed(f"{type(exc).__name__}: {exc}") from exc
        try:
            if pool_id is not None and pool_id not in pool_map.pools:
                raise ScrubFailed(f"pool {pool_id} is not on node {settings.node_id}")
            pools = (
                [pool_map.pools[pool_id]] if pool_id is not None else list(pool_map.pools.values())
            )
            worker = Scrubber(
                node_id=settings.node_id,
                api=api,
                redis=redis,
                keys=keys,
                specs=parse_variants(settings.variants),
                limits=ImageLimits(
                    max_pixels=pool_map.limits.max_pixels, max_frames=pool_map.limits.max_frames
                ),
                sources=[CopySource(peers), BackupSource(client_for(settings))],
            )
            outbox = Outbox(settings.state_dir / OUTBOX_DIR)
            for pool in sorted(pools, key=lambda p: p.id):
                adoptions = None
                if options.adopt:
                    # First, so that what the app adopts is no orphan to the scrub.
                    throttle = Throttle(options.bytes_per_second)
                    adoptions = await adopt_pool(
                        api, outbox, pool, dry_run=options.dry_run, throttle=throttle
                    )
                report, _ = await worker.run(pool, options, progress=partial(progress, pool.id))
                if adoptions is not None:
                    report.adoptions = [a.to_json() for a in adoptions]
                state = await load_state(redis, keys, settings.node_id, pool.id)
                state["report"] = report.to_json()
                await save_state(redis, keys, settings.node_id, pool.id, state)
                reports.append(report)
        finally:
            await redis.aclose()
    return reports
