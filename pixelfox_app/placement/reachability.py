"""Does each pool's upload API answer? ``HEAD upload_api_url`` → 204 within 2 s.

The control worker runs :func:`check_pools` every few seconds (a cron of the
control queue, see ``pixelfox_app.control_worker.worker``). Each pool's result is kept as
``upload_api_reachable`` in Redis (``RedisKeys.pool_reachable``, JSON
``{"ok", "url", "status", "error", "checked_at"}``, TTL ``REACHABILITY_TTL``);
a failed check also takes the pool's node out of placement until it sends two
healthy beats (:func:`pixelfox_app.placement.health.mark_down`).

The seed's development fallback: for a pool on node ``local`` whose URL does
not answer (``PIXELFOX_PUBLIC_DOMAIN=http://0.0.0.0:8080`` is not a place a
client can reach), the same port on ``127.0.0.1`` is tried too, and the pool
counts as reachable when that answers.

When nobody checks (the control worker is stopped), the keys expire and
placement goes by heartbeats alone; the explanation says "not checked".
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from redis.asyncio import Redis

from pixelfox_common import metrics, tls
from pixelfox_protocol.internal import UPLOAD_PATH
from pixelfox_protocol.keys import REACHABILITY_TTL, RedisKeys

from ..config import AppSettings
from ..models import StoragePool
from ..nodes import DEFAULT_NODE_ID, node_of
from ..pools import effective_upload_api_url
from .health import mark_down

log = logging.getLogger(__name__)

CHECK_TIMEOUT = 2.0
# How often the control worker checks (seconds of the minute it runs at).
CHECK_EVERY_SECONDS = 5


@dataclass(frozen=True)
class Reachability:
    ok: bool
    url: str
    status: int | None = None
    error: str = ""
    checked_at: float = 0.0

    def to_json(self) -> str:
        return json.dumps(asdict(self))


def local_fallback_url(url: str) -> str | None:
    """The seed's dev fallback: the same port on 127.0.0.1 (None if it is that already)."""
    parts = urlsplit(url)
    if parts.hostname in (None, "127.0.0.1"):
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return urlunsplit((parts.scheme, f"127.0.0.1:{port}", UPLOAD_PATH, "", ""))


async def probe(client: httpx.AsyncClient, url: str) -> Reachability:
    """One ``HEAD`` on an upload URL; only 204 counts as reachable."""
    now = time.time()
    try:
        response = await client.head(url, timeout=CHECK_TIMEOUT)
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}".rstrip(": ")
        return Reachability(False, url, error=error[:300], checked_at=now)
    if response.status_code != 204:
        return Reachability(
            False, url, response.status_code, f"HTTP {response.status_code}", checked_at=now
        )
    return Reachability(True, url, 204, checked_at=now)


async def check_pool(
    client: httpx.AsyncClient, pool: StoragePool, settings: AppSettings
) -> Reachability:
    """Check one pool's upload API, with the dev fallback for node ``local``."""
    url = effective_upload_api_url(pool, settings)
    result = await probe(client, url)
    if result.ok or node_of(pool) != DEFAULT_NODE_ID:
        return result
    fallback = local_fallback_url(url)
    if fallback is None:
        return result
    second = await probe(client, fallback)
    return second if second.ok else result


async def check_pools(
    redis: Redis, keys: RedisKeys, settings: AppSettings, client: httpx.AsyncClient | None = None
) -> dict[int, Reachability]:
    """Check every active upload-target pool at once; store the results; mark failed nodes down."""
    pools = await StoragePool.filter(is_active=True, is_upload_target=True).order_by("id")
    if not pools:
        metrics.set_upload_apis({})
        return {}
    own_client = client is None
    http = client or httpx.AsyncClient(trust_env=False, verify=tls.http_verify(settings.ca_file))
    try:
        results = await asyncio.gather(*(check_pool(http, p, settings) for p in pools))
    finally:
        if own_client:
            await http.aclose()
    async with redis.pipeline(transaction=False) as pipe:
        for pool, result in zip(pools, results, strict=True):
            pipe.set(keys.pool_reachable(pool.id), result.to_json(), ex=REACHABILITY_TTL)
        await pipe.execute()
    metrics.set_upload_apis({p.id: r.ok for p, r in zip(pools, results, strict=True)})
    for pool, result in zip(pools, results, strict=True):
        if not result.ok:
            node = node_of(pool)
            await mark_down(
                redis, keys, node, f"upload API of pool {pool.id} failed: {result.error}"
            )
            log.warning(
                "upload API unreachable pool=%s node=%s url=%s: %s",
                pool.id,
                node,
                result.url,
                result.error,
            )
    return {pool.id: result for pool, result in zip(pools, results, strict=True)}


async def check_upload_apis(ctx: dict[str, Any]) -> dict[str, int]:
    """Cron of the control worker, every few seconds: check every pool's upload API."""
    client: httpx.AsyncClient | None = ctx.get("reachability_client")
    if client is None:
        client = ctx["reachability_client"] = httpx.AsyncClient(
            trust_env=False, verify=tls.http_verify(ctx["settings"].ca_file)
        )
    results = await check_pools(ctx["redis"], ctx["keys"], ctx["settings"], client)
    failed = sum(1 for r in results.values() if not r.ok)
    return {"checked": len(results), "failed": failed}
