"""What the upload endpoint and its background loops share within one storage process."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from quart import current_app
from redis.asyncio import Redis

from pixelfox_common.ingest import IngestLimits
from pixelfox_common.kept import KeptTasks
from pixelfox_protocol import tokens
from pixelfox_protocol.errors import APIError
from pixelfox_protocol.internal import NodeConfig, PoolInfo, UploadLimits
from pixelfox_protocol.keys import RedisKeys

from ..appapi import APP_TIMEOUT, AppAPI, longest_call
from ..config import StorageSettings
from ..pools import PoolDirectory, PoolMapUnavailable, UnknownPool, read_cache
from .outbox import OUTBOX_DIR, Outbox

if TYPE_CHECKING:
    from .spooled.follower import SpoolFollower

log = logging.getLogger(__name__)

T = TypeVar("T")

# The longest one call to the app can take: a write-ahead record waits that long
# (and a margin) before the outbox loop may deliver it beside the upload's own call.
APP_TIMEOUT_TOTAL = longest_call(APP_TIMEOUT)


def load_public_keys(text: str) -> dict[str, Ed25519PublicKey]:
    try:
        keys = tokens.parse_public_keys(text)
    except ValueError as exc:
        log.error("PIXELFOX_TOKEN_PUBLIC_KEYS is not valid (%s): uploads are refused", exc)
        return {}
    if not keys:
        log.warning("PIXELFOX_TOKEN_PUBLIC_KEYS is empty: uploads are refused")
    return keys


@dataclass
class UploadNode:
    settings: StorageSettings
    keys: RedisKeys
    public_keys: dict[str, Ed25519PublicKey]
    outbox: Outbox
    redis: Redis | None = None
    # This process's client of the app's internal API (completions, the pool map).
    client: AppAPI | None = None
    pools: PoolDirectory | None = None
    upload_limits: UploadLimits = field(default_factory=UploadLimits)
    # Work that must finish even when its request is gone (cancelled at shutdown only).
    kept: KeptTasks = field(default_factory=KeptTasks)
    outbox_wake: asyncio.Event = field(default_factory=asyncio.Event)
    # Reads nginx's spool files as they are written (set while it runs; see follower).
    follower: SpoolFollower | None = None

    @classmethod
    def create(cls, settings: StorageSettings) -> UploadNode:
        return cls(
            settings=settings,
            keys=RedisKeys(settings.redis_prefix),
            public_keys=load_public_keys(settings.token_public_keys),
            outbox=Outbox(settings.state_dir / OUTBOX_DIR),
        )

    async def open(self, redis: Redis) -> None:
        self.redis = redis
        self.client = AppAPI(self.settings)
        self.pools = PoolDirectory(self.settings, self.client)
        await self.refresh_pools()

    async def close(self) -> None:
        await self.kept.cancel()
        if self.client is not None:
            await self.client.aclose()

    async def refresh_pools(self) -> None:
        """Ask the app again (or the cache); keep the old map when neither answers."""
        assert self.pools is not None
        try:
            await self.pools.refresh()
        except PoolMapUnavailable as exc:
            log.warning("pool map unavailable: %s", exc)
            return
        cached = None if self.settings.node_pools else read_cache(self.settings.state_dir)
        self.upload_limits = cached.upload_limits if cached is not None else UploadLimits()

    def adopt_config(self, config: NodeConfig) -> bool:
        """The pool map of a heartbeat answer; True when it changed (see PoolDirectory.adopt)."""
        if self.pools is None or not self.pools.adopt(config):
            return False
        self.upload_limits = config.upload_limits
        log.info("pool map %s from the app: pools %s", config.version, [p.id for p in config.pools])
        return True

    def pool_map_version(self) -> str:
        current = self.pools.current if self.pools is not None else None
        return current.version if current is not None else ""

    async def pool(self, pool_id: int) -> PoolInfo:
        """This node's pool ``pool_id``; POOL_NOT_ON_NODE, or UNAVAILABLE without a map."""
        assert self.pools is not None
        try:
            await self.pools.base_path(pool_id)
        except UnknownPool as exc:
            raise APIError("POOL_NOT_ON_NODE", details={"pool_id": pool_id}) from exc
        except PoolMapUnavailable as exc:
            raise APIError("UNAVAILABLE", "This node does not know its pools yet.") from exc
        assert self.pools.current is not None
        return self.pools.current.pools[pool_id]

    def known_pools(self) -> list[PoolInfo]:
        current = self.pools.current if self.pools is not None else None
        return list(current.pools.values()) if current is not None else []

    def limits(self, max_size: int) -> IngestLimits:
        return IngestLimits(
            max_size=max_size,
            allowed_types=frozenset(t.lower() for t in self.upload_limits.allowed_types),
            max_pixels=self.upload_limits.max_pixels,
            max_frames=self.upload_limits.max_frames,
        )

    def keep(self, coro: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
        """Run ``coro`` as a task held until it ends (cancelled only at shutdown)."""
        return self.kept.keep(coro, name)


def current_node() -> UploadNode:
    """The upload node of the storage app serving this request (set up by ``install``)."""
    node: UploadNode = current_app.extensions["upload"]
    return node


def check_space(pool: PoolInfo, needed: int) -> None:
    """STORAGE_FULL when the pool's disk cannot take ``needed`` bytes above its reserve."""
    base = Path(pool.base_path)
    try:
        stats = os.statvfs(base)
    except OSError as exc:
        log.error("pool %s base path %s is not usable: %s", pool.id, base, exc)
        raise APIError("UNAVAILABLE", "This pool's storage is not available.") from exc
    free = stats.f_bavail * stats.f_frsize
    if free - pool.reserve_bytes < needed:
        raise APIError(
            "STORAGE_FULL",
            details={"pool_id": pool.id, "free_bytes": max(0, free - pool.reserve_bytes)},
        )
