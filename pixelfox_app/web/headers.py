"""Security headers of every response, set in one ``after_request``.

The Content-Security-Policy allows scripts and styles only from the app
itself (no inline script, no eval: htmx runs with ``allowEval: false``).
Images come from the storage nodes (absolute URLs on each pool's origin) and
the upload page talks to the nodes' upload APIs, so ``img-src`` and
``connect-src`` list the origins of the configured pools; that list is read
from the database at most every few seconds and refreshed when a pool is saved.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from quart import Quart, Response, current_app

from ..config import AppSettings
from ..models import StoragePool

ORIGINS_TTL_SECONDS = 10.0
_CACHE = "pixelfox_web_origins"


def origin_of(url: str) -> str | None:
    """``https://s01.example.com/uploads`` → ``https://s01.example.com``; None if not a URL.

    A ``{node_id}``-style placeholder in the host (a global CDN template)
    becomes a ``*`` wildcard label, which CSP accepts only leftmost.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    host = parts.netloc
    if "{" in host:
        first, _, rest = host.partition(".")
        if "{" in rest or not rest:
            return None
        host = f"*.{rest}" if "{" in first else host
    if any(c in host for c in " ;,'\""):
        return None
    return f"{parts.scheme}://{host}"


async def _load_origins(settings: AppSettings) -> tuple[str, ...]:
    urls = [settings.public_domain, settings.cdn_base_url]
    rows = await StoragePool.all().values_list("public_base_url", "cdn_base_url", "upload_api_url")
    for row in rows:
        urls.extend(row)
    origins = {o for o in (origin_of(u) for u in urls if u) if o}
    return tuple(sorted(origins))


def forget_origins(app: Quart) -> None:
    """Drop the cached pool origins (call after a pool's URLs changed)."""
    app.extensions.pop(_CACHE, None)


async def pool_origins() -> tuple[str, ...]:
    """The origins of every pool, cached for a few seconds."""
    cached = current_app.extensions.get(_CACHE)
    now = time.monotonic()
    if cached is not None and now - cached[0] < ORIGINS_TTL_SECONDS:
        return tuple(cached[1])
    try:
        origins = await _load_origins(current_app.config["PIXELFOX"])
    except Exception:  # no database yet (start-up, health checks): keep the last answer
        return tuple(cached[1]) if cached else ()
    current_app.extensions[_CACHE] = (now, origins)
    return origins


def content_security_policy(origins: tuple[str, ...]) -> str:
    others = " ".join(origins)
    directives = [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        f"img-src 'self' data: blob: {others}".rstrip(),
        f"connect-src 'self' {others}".rstrip(),
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


async def set_security_headers(response: Response) -> Response:
    """The one place where the security headers are set."""
    settings: AppSettings = current_app.config["PIXELFOX"]
    headers = response.headers
    headers["Content-Security-Policy"] = content_security_policy(await pool_origins())
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
    if settings.public_domain.startswith("https://"):
        headers["Strict-Transport-Security"] = "max-age=31536000"
    return response


def install(app: Quart) -> None:
    app.after_request(set_security_headers)
