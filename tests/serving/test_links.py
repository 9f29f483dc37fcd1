"""What the app signs and what a node accepts, without a server: the contract in one place."""

from __future__ import annotations

import base64
import hashlib
import time
from urllib.parse import parse_qs, urlsplit

from pixelfox_app.config import AppSettings
from pixelfox_app.images import signed_links, urls
from pixelfox_app.models import StoragePool
from pixelfox_protocol import links

NOW = 1_800_000_010.0  # not on a step boundary
PRIVATE = "private/original/2026/11/27/0b7e4c1e-8c1a-4f0e-9a53-2f7f2d0c9a11.jpg"
PUBLIC = "original/2026/11/27/0b7e4c1e-8c1a-4f0e-9a53-2f7f2d0c9a11.jpg"


def _settings(secret: str = "s3cret") -> AppSettings:
    return AppSettings(public_domain="https://pixelfox.test", link_secret=secret)


def _pool(node_id: str = "s01") -> StoragePool:
    return StoragePool(
        id=1,
        name=f"hot-{node_id}",
        node_id=node_id,
        base_path="/srv/pool",
        public_base_url=f"https://{node_id}.pixelfox.test",
        cdn_base_url="",
        upload_api_url="",
    )


def _params(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_the_url_builder_signs_files_under_private_and_leaves_public_ones_bare() -> None:
    private = urls.file_url(_pool(), PRIVATE, _settings())
    public = urls.file_url(_pool(), PUBLIC, _settings())

    assert private.startswith(f"https://s01.pixelfox.test/uploads/{PRIVATE}?")
    assert set(_params(private)) == {"md5", "expires", "k"}
    assert public == f"https://s01.pixelfox.test/uploads/{PUBLIC}"


def test_a_private_images_files_are_signed_wherever_they_lie() -> None:
    url = urls.file_url(_pool(), PUBLIC, _settings(), private=True)

    assert set(_params(url)) == {"md5", "expires", "k"}


def test_without_a_link_secret_a_private_url_stays_unsigned_and_so_is_refused() -> None:
    url = urls.file_url(_pool(), PRIVATE, _settings(secret=""))

    assert url == f"https://s01.pixelfox.test/uploads/{PRIVATE}"


def test_the_signature_is_nginxs_secure_link_md5_over_expiry_uri_and_secret() -> None:
    uri = f"/uploads/{PRIVATE}"
    params = _params("?" + signed_links.sign_uri(uri, _settings(), "s01", now=NOW))  # type: ignore[operator]

    # Signed with the secret of node s01 (which serves the pool), not the master.
    secret = links.node_secret("s3cret", "s01")
    expires = int(params["expires"])
    digest = hashlib.md5(f"{expires}{uri} {secret}".encode()).digest()
    assert params["md5"] == base64.urlsafe_b64encode(digest).decode().rstrip("=")
    assert params["k"] == hashlib.sha256(secret.encode()).hexdigest()[:8]


def test_a_nodes_link_secret_is_hmac_sha256_of_its_id_under_the_master() -> None:
    # Test vector, computed apart from the code:
    #   printf 'link:s01' | openssl dgst -sha256 -hmac 'example-link-secret'
    assert links.node_secret("example-link-secret", "s01") == (
        "64f83ba21f23b6666606f90cd8a28b8262d410b0b8f7187d11cc66705fa1ee84"
    )
    assert links.node_secret("example-link-secret", "s02") == (
        "e2dae7a9bcac21b33c3f03cffdc2eb0755e67cc962735b176000359b3f9c789c"
    )
    assert links.node_secret("", "s01") == ""  # no master: nothing is signed


def test_the_app_signs_each_pools_links_with_its_nodes_secret() -> None:
    on_s01 = _params(urls.file_url(_pool("s01"), PRIVATE, _settings()))
    on_s02 = _params(urls.file_url(_pool("s02"), PRIVATE, _settings()))

    assert on_s01["k"] == links.key_id(links.node_secret("s3cret", "s01"))
    assert on_s02["k"] == links.key_id(links.node_secret("s3cret", "s02"))
    s01_keys = links.LinkKeys.of(links.node_secret("s3cret", "s01"))
    uri = f"/uploads/{PRIVATE}"
    now = time.time()  # file_url signs for the real clock
    assert links.verify(uri, on_s01, s01_keys, now) == links.LinkState.VALID
    assert links.verify(uri, on_s02, s01_keys, now) == links.LinkState.INVALID


def test_links_live_an_hour_at_least_and_a_page_shown_again_soon_gets_the_same_link() -> None:
    first = signed_links.sign_uri("/uploads/private/x", _settings(), "s01", now=NOW)
    later = signed_links.sign_uri("/uploads/private/x", _settings(), "s01", now=NOW + 100)
    expires = int(_params("?" + str(first))["expires"])

    assert NOW + 3600 <= expires < NOW + 3600 + signed_links.EXPIRY_STEP
    assert expires % signed_links.EXPIRY_STEP == 0
    assert first == later


def test_a_node_accepts_either_key_and_tells_expired_from_invalid() -> None:
    keys = links.LinkKeys.of("new", "old")
    uri = "/uploads/private/a.jpg"

    def check(query: str, now: float = NOW) -> links.LinkState:
        return links.verify(uri, _params("?" + query), keys, now)

    assert check(links.sign(uri, "new", int(NOW) + 60)) == links.LinkState.VALID
    assert check(links.sign(uri, "old", int(NOW) + 60)) == links.LinkState.VALID
    assert check(links.sign(uri, "other", int(NOW) + 60)) == links.LinkState.INVALID
    # Good up to and including the second it names, like nginx.
    assert check(links.sign(uri, "new", int(NOW))) == links.LinkState.VALID
    assert check(links.sign(uri, "new", int(NOW) - 1)) == links.LinkState.EXPIRED
    assert check(links.sign("/uploads/private/b.jpg", "new", int(NOW) + 60)) == (
        links.LinkState.INVALID
    )
    assert check("") == links.LinkState.INVALID
    assert check(f"k={links.key_id('new')}&md5=x&expires=-5") == links.LinkState.INVALID


def test_an_empty_secret_is_never_an_accepted_key() -> None:
    keys = links.LinkKeys.of("", "")

    assert not keys
    forged = links.signature(int(NOW) + 60, "/uploads/private/a.jpg", "")
    params = {"md5": forged, "expires": str(int(NOW) + 60), "k": links.key_id("")}
    assert links.verify("/uploads/private/a.jpg", params, keys, NOW) == links.LinkState.INVALID


def test_only_the_private_subtree_counts_as_private() -> None:
    assert links.is_private(PRIVATE)
    assert links.is_private("/private/variants/x.webp")
    assert not links.is_private(PUBLIC)
    assert not links.is_private("privateer/original/x.jpg")
