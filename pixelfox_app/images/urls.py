"""Every public URL the app hands out is built here, and only here.

Downloads come straight from the node that holds the file (or a CDN in front
of it), never through the app. The base of a file URL is chosen in this order:

1. the pool's own ``cdn_base_url``;
2. the global CDN base (``PIXELFOX_CDN_BASE_URL``), where ``{node_id}``,
   ``{pool}`` and ``{pool_id}`` are filled in for a CDN that routes by them;
3. the pool's ``public_base_url``;
4. ``PIXELFOX_PUBLIC_DOMAIN`` (the single-host appliance serves every pool).

Pages of the app itself (``/i/<short_id>``, ``/a/<short_id>``, the status API) always use the
public domain.
"""

from __future__ import annotations

from urllib.parse import quote

from pixelfox_protocol import links
from pixelfox_protocol.internal import TUS_PATH, UPLOAD_PATH

from ..config import AppSettings
from ..models import StoragePool
from ..nodes import node_of
from . import signed_links

PROXY_UPLOAD_PATH = "/api/v1/upload"
STATUS_PATH = "/api/v1/image/status/{image_uuid}"


def _origin(url: str) -> str:
    return url.strip().rstrip("/")


def _fill(template: str, pool: StoragePool) -> str:
    # Plain replacement, not str.format: an operator's URL may contain braces.
    return (
        template.replace("{node_id}", node_of(pool))
        .replace("{pool_id}", str(pool.id))
        .replace("{pool}", pool.name)
    )


def download_base(pool: StoragePool, settings: AppSettings) -> str:
    """The origin that serves ``/uploads/`` of this pool (see the module docstring)."""
    if pool.cdn_base_url.strip():
        return _origin(pool.cdn_base_url)
    if settings.cdn_base_url.strip():
        return _origin(_fill(settings.cdn_base_url, pool))
    if pool.public_base_url.strip():
        return _origin(pool.public_base_url)
    return _origin(settings.public_domain)


def file_url(
    pool: StoragePool, relative_path: str, settings: AppSettings, *, private: bool = False
) -> str:
    """Absolute URL of a pool-relative path (``original/…`` or ``variants/…``).

    Files under ``private/`` get a signed, expiring link (see ``signed_links``); so
    does any file of an image the caller says is ``private``.
    """
    uri = f"{links.URI_PREFIX}{quote(relative_path.lstrip('/'))}"
    url = download_base(pool, settings) + uri
    if private or links.is_private(relative_path):
        # With the secret of the node that serves the pool: the only one its nginx knows.
        return signed_links.signed(url, uri, settings, node_of(pool))
    return url


def view_url(short_id: str, settings: AppSettings) -> str:
    """The image page: ``<public_domain>/i/<short_id>``."""
    return f"{_origin(settings.public_domain)}/i/{quote(short_id)}"


def album_url(short_id: str, settings: AppSettings) -> str:
    """An album page: ``<public_domain>/a/<short_id>``."""
    return f"{_origin(settings.public_domain)}/a/{quote(short_id)}"


def status_url(image_uuid: str, settings: AppSettings) -> str:
    """Where a browser polls until the variants are ready."""
    return _origin(settings.public_domain) + STATUS_PATH.format(image_uuid=image_uuid)


def upload_url(pool: StoragePool, settings: AppSettings) -> str:
    """The node endpoint a browser uploads to; the seed's runtime default when unset."""
    if pool.upload_api_url.strip():
        return pool.upload_api_url.strip()
    base = pool.public_base_url.strip() or settings.public_domain
    return _origin(base) + UPLOAD_PATH


def tus_url(pool: StoragePool, settings: AppSettings) -> str:
    """The node's resumable (tus) endpoint: beside the upload URL, as the node serves it."""
    return upload_url(pool, settings).rstrip("/") + TUS_PATH.removeprefix(UPLOAD_PATH)


def proxy_upload_url(settings: AppSettings) -> str:
    """The app's own upload endpoint, used while direct upload is switched off."""
    return _origin(settings.public_domain) + PROXY_UPLOAD_PATH
