"""The pools this node holds: pool id → base path on local disk.

Where the map comes from, in order:

1. ``PIXELFOX_NODE_POOLS="<id>=<path>,…"`` (``StorageSettings.node_pools``): the
   operator's override; the app is not asked.
2. ``GET NODE_CONFIG_PATH`` on the app (:meth:`AppAPI.node_config`); the answer is
   cached in ``<state_dir>/pools.json``.
3. That cache, when the app cannot be reached: a node keeps storing and
   processing through an app outage with the pools it last knew.

The storage service and the node worker both use :class:`PoolDirectory`.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from pixelfox_protocol.internal import NodeConfig, PoolInfo, UploadLimits

from .appapi import AppAPI, AppError
from .config import StorageSettings

log = logging.getLogger(__name__)

CACHE_NAME = "pools.json"
# An unknown pool id makes the directory ask the app again, but not more often than this.
REFRESH_INTERVAL = 10.0


class UnknownPool(LookupError):
    """The pool is not on this node (or the app has not told us about it yet)."""


class PoolMapUnavailable(RuntimeError):
    """Neither the app, nor the cache, nor the override names this node's pools."""


def parse_override(text: str) -> list[PoolInfo]:
    """``"1=/srv/pool1,2=/srv/pool2"`` → pools; raises ValueError on a malformed entry."""
    pools: list[PoolInfo] = []
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        pool_id, sep, base = entry.partition("=")
        if not sep or not pool_id.strip().isdigit() or not base.strip():
            raise ValueError(f"PIXELFOX_NODE_POOLS entry {entry!r} is not '<id>=<path>'")
        pools.append(
            PoolInfo(
                id=int(pool_id),
                name=f"pool-{int(pool_id)}",
                base_path=base.strip(),
                tier="hot",
                is_active=True,
            )
        )
    return pools


def cache_path(state_dir: Path) -> Path:
    return state_dir / CACHE_NAME


def read_cache(state_dir: Path) -> NodeConfig | None:
    try:
        return NodeConfig.model_validate_json(cache_path(state_dir).read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValidationError, ValueError) as exc:
        log.warning("pool cache %s unreadable: %s", cache_path(state_dir), exc)
        return None


def write_cache(state_dir: Path, config: NodeConfig) -> None:
    """Replace the cache atomically, so a crash never leaves half a file."""
    state_dir.mkdir(parents=True, exist_ok=True)
    target = cache_path(state_dir)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(config.model_dump(), indent=2))
    os.replace(tmp, target)


@dataclass(frozen=True)
class PoolMap:
    pools: dict[int, PoolInfo]
    source: str  # "override", "app" or "cache"
    # The operator's upload knobs as the app last sent them (defaults with the override).
    limits: UploadLimits
    # The app's digest of this map (NodeConfig.version), acknowledged in each heartbeat.
    version: str = ""

    @classmethod
    def of(cls, config: NodeConfig, source: str) -> PoolMap:
        return cls({p.id: p for p in config.pools}, source, config.upload_limits, config.version)

    def base_path(self, pool_id: int) -> Path:
        try:
            return Path(self.pools[pool_id].base_path)
        except KeyError:
            raise UnknownPool(pool_id) from None


async def load_pool_map(settings: StorageSettings, api: AppAPI) -> PoolMap:
    """The current map: override, else the app (cached on success), else the cache."""
    if settings.node_pools:
        pools = parse_override(settings.node_pools)
        return PoolMap({p.id: p for p in pools}, "override", UploadLimits.model_validate({}))
    try:
        config = await api.node_config()
    except AppError as exc:
        cached = read_cache(settings.state_dir)
        if cached is None:
            raise PoolMapUnavailable(
                f"the app did not answer ({exc}) and {cache_path(settings.state_dir)} is missing;"
                " set PIXELFOX_NODE_POOLS or start the app"
            ) from exc
        log.warning("app unreachable (%s); using cached pools", exc)
        return PoolMap.of(cached, "cache")
    if config.node_id != settings.node_id:
        raise PoolMapUnavailable(f"the app sent the pools of {config.node_id!r}")
    write_cache(settings.state_dir, config)
    return PoolMap.of(config, "app")


class PoolDirectory:
    """The node's pool map, refreshed from the app when an unknown pool id shows up."""

    def __init__(self, settings: StorageSettings, api: AppAPI) -> None:
        self.settings = settings
        self.api = api
        self.current: PoolMap | None = None
        self._refreshed_at = float("-inf")

    async def refresh(self) -> PoolMap:
        self._refreshed_at = time.monotonic()
        self.current = await load_pool_map(self.settings, self.api)
        return self.current

    def adopt(self, config: NodeConfig) -> bool:
        """Take the map the app sent with a heartbeat answer; True when it changed.

        Pool changes (a pool made inactive by a drain, a new pool) reach the node
        with its next beat, not its next timed refresh. The override never changes.
        """
        if self.settings.node_pools or config.node_id != self.settings.node_id:
            return False
        if self.current is not None and config.version and self.current.version == config.version:
            return False
        write_cache(self.settings.state_dir, config)
        self.current = PoolMap.of(config, "app")
        self._refreshed_at = time.monotonic()
        return True

    async def base_path(self, pool_id: int) -> Path:
        """Base path of a pool on this node; raises UnknownPool when it is not here."""
        if self.current is None:
            await self.refresh()
        assert self.current is not None
        try:
            return self.current.base_path(pool_id)
        except UnknownPool:
            # A pool added after start-up: ask again, but never hammer the app.
            if self.current.source == "override" or (
                time.monotonic() - self._refreshed_at < REFRESH_INTERVAL
            ):
                raise
            return (await self.refresh()).base_path(pool_id)
