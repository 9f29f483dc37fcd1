"""What a node worker's jobs share: settings, variant set, pool map, app client."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from pixelfox_protocol.keys import RedisKeys

from ..config import StorageSettings
from ..pools import PoolDirectory
from ..processing import ImageLimits, VariantSpec, parse_variants
from .appclient import AppClient

# The app answers in milliseconds; a report that takes longer is better retried.
APP_TIMEOUT = httpx.Timeout(10.0, connect=3.0)


@dataclass
class NodeContext:
    settings: StorageSettings
    keys: RedisKeys
    specs: tuple[VariantSpec, ...]
    limits: ImageLimits
    http: httpx.AsyncClient
    pools: PoolDirectory
    app: AppClient
    # Set once per process; "fresh" and "background" lanes share one context.
    lanes: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, settings: StorageSettings) -> NodeContext:
        """Build the context; raises ValueError when PIXELFOX_VARIANTS is malformed."""
        http = httpx.AsyncClient(timeout=APP_TIMEOUT)
        return cls(
            settings=settings,
            keys=RedisKeys(settings.redis_prefix),
            specs=parse_variants(settings.variants),
            limits=ImageLimits(),
            http=http,
            pools=PoolDirectory(settings, http),
            app=AppClient(settings, http),
        )

    async def aclose(self) -> None:
        await self.http.aclose()
