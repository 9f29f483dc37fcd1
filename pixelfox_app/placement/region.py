"""The client's region, when it is known: placement then prefers pools of that region.

Two sources, in this order:

1. the query parameter ``region`` of the session call (API clients that know
   where they are, e.g. ``?region=eu-central``);
2. a header set by a trusted proxy or CDN, named by ``PIXELFOX_REGION_HEADER``
   (e.g. ``CF-IPCountry``). Its value is mapped through ``PIXELFOX_REGION_MAP``
   (``"de=eu-central,at=eu-central,us=us-east"``, case-insensitive); an
   unmapped value is used as it is. When ``PIXELFOX_TRUSTED_PROXIES`` is set
   the header counts only from those proxies, like ``X-Forwarded-For``.

A region is only a preference: when no pool of the region can take the
upload, any other eligible pool is used. So a client that claims a region it
is not in merely chooses a slower path for itself.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from quart import request

from ..auth.ratelimit import parse_trusted_proxies
from ..config import AppSettings
from ..pools import REGION_PATTERN


@lru_cache(maxsize=8)
def parse_region_map(text: str) -> dict[str, str]:
    """``"de=eu-central, US=us-east"`` → ``{"de": "eu-central", "us": "us-east"}``."""
    mapping: dict[str, str] = {}
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        key, sep, region = entry.partition("=")
        region = region.strip().lower()
        if not sep or not key.strip() or not REGION_PATTERN.match(region):
            raise ValueError(f"PIXELFOX_REGION_MAP entry {entry!r} is not '<value>=<region>'")
        mapping[key.strip().lower()] = region
    return mapping


def _from_trusted_proxy(peer: str | None, settings: AppSettings) -> bool:
    trusted = parse_trusted_proxies(settings.trusted_proxies)
    if not trusted:
        return True
    try:
        address = ipaddress.ip_address(peer or "")
    except ValueError:
        return False
    return any(address in network for network in trusted)


def region_from_header(settings: AppSettings, value: str | None, peer: str | None) -> str | None:
    """The region a trusted proxy's header names, or None."""
    if not settings.region_header or not value:
        return None
    if not _from_trusted_proxy(peer, settings):
        return None
    key = value.strip().lower()
    region = parse_region_map(settings.region_map).get(key, key)
    return region if REGION_PATTERN.match(region) else None


def request_region(settings: AppSettings, query_region: str = "") -> tuple[str | None, str | None]:
    """(region, source) of the current request; source is "query", "header" or None."""
    if query_region:
        return query_region.lower(), "query"
    header = request.headers.get(settings.region_header) if settings.region_header else None
    region = region_from_header(settings, header, request.remote_addr)
    return (region, "header") if region else (None, None)
