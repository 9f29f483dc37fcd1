"""Security headers: one after_request sets them on every kind of response."""

from __future__ import annotations

import re

import pytest

from pixelfox_app.web.headers import content_security_policy, origin_of
from tests.web.conftest import Web


def _directives(csp: str) -> dict[str, list[str]]:
    out = {}
    for part in csp.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


@pytest.mark.parametrize(
    "path", ["/login", "/upload", "/admin/pools", "/api/v1/csrf", "/static/css/app.css", "/nowhere"]
)
async def test_every_response_carries_the_security_headers(web: Web, path: str):
    await web.admin()
    response = await web.client.get(path)
    headers = response.headers
    csp = _directives(headers["Content-Security-Policy"])
    assert csp["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in " ".join(csp["style-src"] + csp["default-src"])
    assert "'unsafe-eval'" not in headers["Content-Security-Policy"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


async def test_images_and_uploads_may_reach_the_pools_origins_and_no_others(web: Web):
    await web.pool("hot-1", "s01", cdn_base_url="https://cdn.example.com")
    response = await web.client.get("/login")
    csp = _directives(response.headers["Content-Security-Policy"])
    for directive in ("img-src", "connect-src"):
        assert "http://s01.pixelfox.test" in csp[directive]
        assert "https://cdn.example.com" in csp[directive]
        assert "*" not in csp[directive] and "https:" not in csp[directive]


def test_origins_are_cut_from_urls_and_junk_is_dropped():
    assert origin_of("https://s01.example.com/uploads/x") == "https://s01.example.com"
    assert origin_of("https://{node_id}.cdn.example.com") == "https://*.cdn.example.com"
    assert origin_of("https://cdn.example.com/{pool}") == "https://cdn.example.com"
    assert origin_of("javascript:alert(1)") is None
    assert origin_of("https://evil.com; script-src *") is None
    assert "'self'" in content_security_policy(())


async def test_no_page_loads_anything_from_another_origin(web: Web):
    await web.admin()
    for path in ("/login", "/upload", "/images", "/admin/pools", "/admin/settings"):
        _, html = await web.get(path)
        for attribute in ("src", "href"):
            for url in re.findall(rf'{attribute}="([^"]+)"', html):
                assert not url.startswith(("http:", "https:", "//")), f"{path} loads {url}"
