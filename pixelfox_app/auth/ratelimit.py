"""Who is asking (the client's address) and how often they may ask (Redis-backed limits).

Limits are moving windows kept in Redis by the ``limits`` library, so every
hypercorn worker and every app host share one count. The client is the socket
peer: a client-supplied ``X-Forwarded-For`` is believed only when the peer is
one of ``PIXELFOX_TRUSTED_PROXIES``.
"""

from __future__ import annotations

import ipaddress
import math
import time
from functools import lru_cache

from limits import RateLimitItemPerMinute
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from quart import current_app, request
from redis.asyncio import Redis

from pixelfox_protocol.errors import APIError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def parse_trusted_proxies(text: str) -> tuple[Network, ...]:
    """``"10.0.0.1, 192.168.0.0/24"`` → networks; a bad entry fails loudly at start-up."""
    return tuple(
        ipaddress.ip_network(item.strip(), strict=False) for item in text.split(",") if item.strip()
    )


def _is_trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in trusted)


def client_address(peer: str | None, forwarded_for: str, trusted: tuple[Network, ...]) -> str:
    """The client's address: the peer, or, behind trusted proxies, the first untrusted hop.

    X-Forwarded-For is read from the right: each trusted proxy appends the
    address it saw, so the rightmost address that is not a trusted proxy is the
    first one nobody we trust could have been lied to about.
    """
    address = peer or "unknown"
    if not trusted or not _is_trusted(address, trusted):
        return address
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        if not _is_trusted(hop, trusted):
            return hop
        address = hop
    return address


def request_client_address() -> str:
    """The current request's client address (see :func:`client_address`)."""
    trusted = parse_trusted_proxies(current_app.config["PIXELFOX"].trusted_proxies)
    return client_address(request.remote_addr, request.headers.get("X-Forwarded-For", ""), trusted)


class RateLimits:
    """Named per-minute limits on one Redis; ``hit`` raises RATE_LIMITED when spent."""

    def __init__(self, redis: Redis, key_prefix: str) -> None:
        # Shares the app's connection pool instead of opening a second one.
        storage = RedisStorage(
            "async+redis://",
            implementation="redispy",
            key_prefix=key_prefix,
            # limits types its options as scalars; a pool is what redis-py accepts.
            connection_pool=redis.connection_pool,  # type: ignore[arg-type]
        )
        self._limiter = MovingWindowRateLimiter(storage)

    async def hit(self, name: str, per_minute: int, identifier: str) -> None:
        """Count one request of ``identifier`` against limit ``name``; 0 means unlimited."""
        if per_minute <= 0:
            return
        item = RateLimitItemPerMinute(per_minute)
        try:
            allowed = await self._limiter.hit(item, name, identifier)
            if allowed:
                return
            stats = await self._limiter.get_window_stats(item, name, identifier)
        except Exception as exc:  # the Redis client's errors; no Redis, no safe answer
            raise APIError("UNAVAILABLE", "The rate limiter is not reachable.") from exc
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise APIError(
            "RATE_LIMITED",
            f"Too many requests; please wait {retry_after} s.",
            details={"retry_after": retry_after, "limit": name},
            headers={"Retry-After": str(retry_after)},
        )


def rate_limits() -> RateLimits:
    """The app's limiter (created when the app starts serving)."""
    limits: RateLimits = current_app.extensions["rate_limits"]
    return limits
