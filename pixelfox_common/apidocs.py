"""``/api/docs``: Swagger UI for the service's own ``/openapi.json``, served locally.

quart-schema's built-in page loads Swagger UI from a CDN with an inline script,
which the app's Content-Security-Policy (scripts from the app only) blocks and
which a host without Internet access cannot load. This page uses the vendored
``swagger-ui-dist`` bundle (``static/vendor/VERSIONS.md``) and starts it from a
script file of ours, so it works under ``script-src 'self'`` on both services.
"""

from __future__ import annotations

from pathlib import Path

from quart import Blueprint, Response

STATIC = Path(__file__).with_name("static")
SWAGGER_UI = "vendor/swagger-ui-5.32.0"
DOCS_PATH = "/api/docs"
ASSETS_PATH = "/api/docs/assets"

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} API</title>
<link rel="stylesheet" href="{assets}/{swagger}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="/openapi.json"></div>
<script src="{assets}/{swagger}/swagger-ui-bundle.js"></script>
<script src="{assets}/js/api-docs.js"></script>
</body>
</html>
"""


def blueprint(title: str) -> Blueprint:
    """The docs page and its assets (``ASSETS_PATH``) for a service called ``title``."""
    docs = Blueprint("api_docs", __name__, static_folder=str(STATIC), static_url_path=ASSETS_PATH)
    page = _PAGE.format(title=title, assets=ASSETS_PATH, swagger=SWAGGER_UI)

    @docs.get(DOCS_PATH)
    async def api_docs() -> Response:
        return Response(page, content_type="text/html; charset=utf-8")

    return docs
