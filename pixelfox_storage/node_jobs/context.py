"""What a node worker's jobs share: settings, variant set, pool map, app client."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from pixelfox_common import tls
from pixelfox_protocol.keys import RedisKeys

from ..appapi import AppAPI
from ..config import StorageSettings
from ..pools import PoolDirectory
from ..processing import ImageLimits, VariantSpec, parse_variants

# Calls to other nodes' replicate API; a push sets its own, longer read timeout.
NODE_TIMEOUT = httpx.Timeout(10.0, connect=3.0)


@dataclass
class NodeContext:
    settings: StorageSettings
    keys: RedisKeys
    specs: tuple[VariantSpec, ...]
    limits: ImageLimits
    # Calls to other nodes (a move's pushes); the app is called through ``app``.
    http: httpx.AsyncClient
    pools: PoolDirectory
    app: AppAPI
    # Set once per process; "fresh" and "background" lanes share one context.
    lanes: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, settings: StorageSettings) -> NodeContext:
        """Build the context; raises ValueError when PIXELFOX_VARIANTS is malformed."""
        specs = parse_variants(settings.variants)
        app = AppAPI(settings)
        return cls(
            settings=settings,
            keys=RedisKeys(settings.redis_prefix),
            specs=specs,
            limits=ImageLimits(),
            http=httpx.AsyncClient(timeout=NODE_TIMEOUT, verify=tls.http_verify(settings.ca_file)),
            pools=PoolDirectory(settings, app),
            app=app,
        )

    async def aclose(self) -> None:
        await self.http.aclose()
        await self.app.aclose()
