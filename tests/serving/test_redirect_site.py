"""The storage site's redirect of misses, as rendered: which paths it sends to the app, and when.

What the redirect does end to end is in test_redirect.py (real nginx and app).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from pixelfox_lab.sites import storage_site
from pixelfox_protocol import layout, links

WHEN = datetime(2026, 11, 27, tzinfo=UTC)
REDIRECTING = {
    "nginx_storage_server_name": "s01.pixelfox.test",
    "nginx_storage_pool_path": "/srv/pool",
    "nginx_storage_pool_name": "s01-hot",
    "nginx_storage_resolver_url": "http://app.pixelfox.test/",
}


def _nginx_pattern() -> re.Pattern[str]:
    """The regex of the site's redirect of misses, as rendered."""
    site = storage_site(REDIRECTING)
    found = re.search(r'if \(\$uri ~ "(.+)"\)', site)
    assert found is not None, "the site redirects misses"
    return re.compile(found.group(1))


def test_nginx_redirects_exactly_the_public_paths_of_the_layout():
    pattern = _nginx_pattern()
    ident = str(uuid.uuid4())
    paths = [layout.original_path(ident, ext, WHEN) for ext in set(layout.EXTENSIONS.values())]
    paths += [layout.original_path(ident.replace("-", ""), "jpg", WHEN)]
    paths += [
        layout.variant_path(ident, name, fmt, WHEN)
        for fmt in layout.VARIANT_FORMATS
        for name in ("thumb200", "medium", "a", "x" * 24)
    ]
    not_layout = [
        f"original/2026/11/27/{ident}.html",
        f"original/2026/11/27/{ident}.jpg.html",
        f"original/2026/1/27/{ident}.jpg",
        f"original/2026/11/27/{ident[:-1]}.jpg",
        f"variants/2026/11/27/{ident}_{'x' * 25}.webp",
        f"variants/2026/11/27/{ident}_Thumb.webp",
        f"variants/2026/11/27/{ident}_thumb200.png",
        f"original/2026/11/27/../27/{ident}.jpg",
        f"quarantine/2026/11/27/{ident}.jpg",
    ]
    private = [layout.in_subtree(p, True) for p in paths[:2]]

    for relative in [*paths, *not_layout, *private]:
        try:
            layout.image_file(relative)
            public = not layout.is_private(relative)
        except layout.UnsafePath:
            public = False
        redirected = pattern.fullmatch(f"{links.URI_PREFIX}{relative}") is not None
        assert redirected == public, relative


def test_a_miss_goes_to_the_apps_resolver_naming_the_pool_and_stops_when_redirected():
    site = storage_site(REDIRECTING)

    # The resolver's origin without its trailing slash, the app's path and loop stop.
    assert f"return 302 http://app.pixelfox.test{links.REDIRECT_PREFIX}s01-hot/$1;" in site
    assert f"if ($arg_{links.REDIRECTED_PARAM}) {{" in site


def test_without_a_resolver_a_miss_is_a_404():
    site = storage_site(
        {"nginx_storage_server_name": "s01.pixelfox.test", "nginx_storage_pool_path": "/srv/pool"}
    )

    assert "@pixelfox_elsewhere" not in site
    assert "return 302" not in site
