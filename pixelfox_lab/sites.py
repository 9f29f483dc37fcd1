"""The storage node's nginx site, rendered from the nginx role for the tests, the lab and the docs.

``storage_site`` takes the role's own variables (``nginx_storage_*``,
``nginx_ipv6``, ``nginx_tls_*``) over the role's defaults, so a test sets the
same knobs an inventory would. ``docs/nginx/pixelfox-storage.conf`` is this
site rendered with :data:`DOCS_VALUES`; ``python -m pixelfox_lab render-docs``
writes it, and a test fails while the copy differs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pixelfox_lab.roles import ROLES, render

STORAGE_SITE = "etc/nginx/sites-available/pixelfox-storage.conf.j2"
DOCS_COPY = ROLES.parent / "docs" / "nginx" / "pixelfox-storage.conf"
RENDER_DOCS_COMMAND = ".venv/bin/python -m pixelfox_lab render-docs"

# A storage node as inventory/production.example builds it; the secrets are examples.
DOCS_VALUES: dict[str, Any] = {
    "nginx_storage_server_name": "s01.example.net",
    "nginx_storage_pool_path": "/srv/pixelfox/pools/s01-hot",
    # The master link secrets: the site gets node s01's own, derived from them.
    "nginx_storage_node_id": "s01",
    "pixelfox_link_secret": "example-link-secret",
    "pixelfox_link_previous_secret": "example-previous-link-secret",
    "nginx_storage_spool_secret": "example-spool-secret",
    # Misses go to the app, which redirects them to a live copy.
    "nginx_storage_pool_name": "s01-hot",
    "nginx_storage_resolver_url": "https://app.example.net",
    "nginx_tls_certificate": "/etc/letsencrypt/live/s01.example.net/fullchain.pem",
    "nginx_tls_certificate_key": "/etc/letsencrypt/live/s01.example.net/privkey.pem",
}
DOCS_MANAGED = (
    f"Rendered from roles/nginx/templates/{STORAGE_SITE} by `{RENDER_DOCS_COMMAND}`"
    " with example values (secrets included): do not edit"
)


def storage_site(values: Mapping[str, Any], *, ansible_managed: str | None = None) -> str:
    """The storage site with ``values`` (role variables) over the nginx role's defaults."""
    managed = ansible_managed or f"Rendered from roles/nginx/templates/{STORAGE_SITE}"
    return render("nginx", STORAGE_SITE, values, ansible_managed=managed)


def docs_copy() -> str:
    return storage_site(DOCS_VALUES, ansible_managed=DOCS_MANAGED)


def write_docs(path: Path = DOCS_COPY) -> Path:
    path.write_text(docs_copy())
    return path
