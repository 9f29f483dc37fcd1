"""CORS for the upload URL: browsers on the app's origin, and nobody else.

``PIXELFOX_CORS_ORIGIN`` names the app's public origin (a comma-separated list
is accepted for a move between domains). A request from any other origin gets
no CORS headers at all, so the browser refuses to hand the answer to its page.
Answers to allowed origins, errors included, carry the headers, so the upload
page can read our error codes.
"""

from __future__ import annotations

from quart import Request, Response, request

from .node import current_node

ALLOWED_METHODS = "POST, PUT, HEAD, OPTIONS"
ALLOWED_HEADERS = "Authorization, Content-Type, X-Request-ID"
EXPOSED_HEADERS = "X-Request-ID"
PREFLIGHT_MAX_AGE = "600"


def allowed_origins(setting: str) -> frozenset[str]:
    return frozenset(o.strip().rstrip("/") for o in setting.split(",") if o.strip())


def apply(
    response: Response,
    request: Request,
    origins: frozenset[str],
    *,
    methods: str = ALLOWED_METHODS,
    headers: str = ALLOWED_HEADERS,
    exposed: str = EXPOSED_HEADERS,
) -> Response:
    """Add CORS headers to ``response`` when the request's origin is allowed."""
    response.vary.add("Origin")
    origin = request.headers.get("Origin", "")
    if not origin or origin not in origins:
        return response
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Expose-Headers"] = exposed
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = methods
        response.headers["Access-Control-Allow-Headers"] = headers
        response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
    return response


async def for_upload(response: Response) -> Response:
    """``after_request`` of the upload routes: the node's CORS origins for this request."""
    return apply(response, request, allowed_origins(current_node().settings.cors_origin))
