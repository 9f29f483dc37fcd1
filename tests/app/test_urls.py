"""The one URL builder: pool base, CDN per pool, global CDN, PUBLIC_DOMAIN fallback."""

from __future__ import annotations

import pytest

from pixelfox_app.config import AppSettings
from pixelfox_app.images import urls
from pixelfox_app.models import StoragePool

PATH = "original/2026/11/27/0b7e4c1e-8c1a-4f0e-9a53-2f7f2d0c9a11.jpg"
VARIANT = "variants/2026/11/27/0b7e4c1e-8c1a-4f0e-9a53-2f7f2d0c9a11_thumb200.webp"


def _pool(**fields: object) -> StoragePool:
    values: dict[str, object] = {
        "id": 3,
        "name": "hot-s01",
        "node_id": "s01",
        "base_path": "/srv/pool",
        "public_base_url": "",
        "cdn_base_url": "",
        "upload_api_url": "",
    }
    values.update(fields)
    return StoragePool(**values)


def _settings(**fields: object) -> AppSettings:
    return AppSettings(public_domain="https://pixelfox.test", **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("pool_fields", "settings_fields", "base"),
    [
        pytest.param({}, {}, "https://pixelfox.test", id="fallback-public-domain"),
        pytest.param(
            {"public_base_url": "https://s01.pixelfox.test/"},
            {},
            "https://s01.pixelfox.test",
            id="pool-base",
        ),
        pytest.param(
            {"public_base_url": "https://s01.pixelfox.test", "cdn_base_url": "https://cdn1.test"},
            {"cdn_base_url": "https://global-cdn.test"},
            "https://cdn1.test",
            id="pool-cdn-beats-global-cdn",
        ),
        pytest.param(
            {"cdn_base_url": "https://cdn1.test"},
            {},
            "https://cdn1.test",
            id="pool-cdn-without-pool-base",
        ),
        pytest.param(
            {"public_base_url": "https://s01.pixelfox.test"},
            {"cdn_base_url": "https://global-cdn.test"},
            "https://global-cdn.test",
            id="global-cdn-beats-pool-base",
        ),
        pytest.param(
            {},
            {"cdn_base_url": "https://{node_id}.cdn.test/{pool}/{pool_id}"},
            "https://s01.cdn.test/hot-s01/3",
            id="global-cdn-template",
        ),
    ],
)
def test_file_urls_use_the_right_base(
    pool_fields: dict[str, object], settings_fields: dict[str, object], base: str
):
    pool, settings = _pool(**pool_fields), _settings(**settings_fields)
    assert urls.download_base(pool, settings) == base
    assert urls.file_url(pool, PATH, settings) == f"{base}/uploads/{PATH}"
    assert urls.file_url(pool, VARIANT, settings) == f"{base}/uploads/{VARIANT}"


def test_app_pages_always_use_the_public_domain():
    settings = _settings(cdn_base_url="https://global-cdn.test")
    assert urls.view_url("AbCd_-12", settings) == "https://pixelfox.test/i/AbCd_-12"
    assert urls.status_url("u-1", settings) == "https://pixelfox.test/api/v1/image/status/u-1"
    assert urls.proxy_upload_url(settings) == "https://pixelfox.test/api/v1/upload"


@pytest.mark.parametrize(
    ("pool_fields", "expected"),
    [
        pytest.param(
            {"upload_api_url": "https://s01.pixelfox.test/api/internal/upload"},
            "https://s01.pixelfox.test/api/internal/upload",
            id="own",
        ),
        pytest.param(
            {"public_base_url": "https://s01.pixelfox.test/"},
            "https://s01.pixelfox.test/api/internal/upload",
            id="from-pool-base",
        ),
        pytest.param({}, "https://pixelfox.test/api/internal/upload", id="from-public-domain"),
    ],
)
def test_upload_url_falls_back_like_the_seeds_runtime_defaults(
    pool_fields: dict[str, object], expected: str
):
    assert urls.upload_url(_pool(**pool_fields), _settings()) == expected
    # Resumable uploads (tus) are taken beside it, on the same node.
    assert urls.tus_url(_pool(**pool_fields), _settings()) == expected + "/tus"
