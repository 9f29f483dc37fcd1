"""Signed links as the app makes them, checked by nginx and by the storage service alike."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from pixelfox_app.config import AppSettings
from pixelfox_app.images import signed_links, urls
from pixelfox_app.models import StoragePool
from pixelfox_protocol import links
from tests.serving.conftest import CURRENT_SECRET, PREVIOUS_SECRET, Files


def _pool(base_url: str, node_id: str = "s01") -> StoragePool:
    return StoragePool(
        id=1,
        name=f"hot-{node_id}",
        node_id=node_id,
        base_path="/srv/pool",
        public_base_url=base_url,
        cdn_base_url="",
        upload_api_url="",
    )


def _link(
    server: str, relative: str, secret: str, *, now: float | None = None, node_id: str = "s01"
) -> str:
    """The URL the app hands out for ``relative`` of a pool on ``node_id``, with master ``secret``.

    Both servers are node s01 (nginx and the storage service hold s01's secrets).
    """
    settings = AppSettings(public_domain="https://pixelfox.test", link_secret=secret)
    url = urls.file_url(_pool(server, node_id), relative, settings)
    if now is not None:
        uri = urlsplit(url).path
        url = signed_links.signed(url.split("?")[0], uri, settings, node_id, now=now)
    return url


def _with(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return parts._replace(query=urlencode(query)).geturl()


def test_a_private_file_is_served_with_a_link_signed_by_the_current_secret(
    server: str, files: Files
) -> None:
    response = httpx.get(_link(server, files.private, CURRENT_SECRET))

    assert response.status_code == 200
    assert response.content == files.data(files.private)
    assert response.headers["cache-control"] == "private, max-age=300"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_a_link_signed_by_the_previous_secret_still_works_during_a_rotation(
    server: str, files: Files
) -> None:
    response = httpx.get(_link(server, files.private, PREVIOUS_SECRET))

    assert response.status_code == 200
    assert response.content == files.data(files.private)


def test_a_link_signed_by_a_secret_the_node_does_not_know_is_refused(
    server: str, files: Files
) -> None:
    assert httpx.get(_link(server, files.private, "retired-secret")).status_code == 403


def test_a_link_signed_with_another_nodes_secret_is_refused(server: str, files: Files) -> None:
    # What a stolen s02 can sign: links with its own secret. s01 knows only its own.
    s02_link = _link(server, files.private, CURRENT_SECRET, node_id="s02")
    assert parse_qs(urlsplit(s02_link).query)["k"] == [
        links.key_id(links.node_secret(CURRENT_SECRET, "s02"))
    ]

    assert httpx.get(s02_link).status_code == 403


def test_a_link_signed_with_the_master_secret_itself_is_refused(server: str, files: Files) -> None:
    uri = f"/uploads/{files.private}"
    query = links.sign(uri, CURRENT_SECRET, int(time.time()) + 600)

    assert httpx.get(f"{server}{uri}?{query}").status_code == 403


def test_a_previous_secrets_link_lasts_until_it_expires(server: str, files: Files) -> None:
    # Well signed with the previous key, and past its time: gone (410), not refused (403).
    two_hours_ago = time.time() - 2 * 3600
    link = _link(server, files.private, PREVIOUS_SECRET, now=two_hours_ago)

    assert httpx.get(link).status_code == 410


def test_an_expired_link_is_gone(server: str, files: Files) -> None:
    two_hours_ago = time.time() - 2 * 3600
    link = _link(server, files.private, CURRENT_SECRET, now=two_hours_ago)

    assert int(parse_qs(urlsplit(link).query)["expires"][0]) < time.time()
    assert httpx.get(link).status_code == 410


def test_a_link_without_a_signature_is_refused(server: str, files: Files) -> None:
    assert httpx.get(f"{server}/uploads/{files.private}").status_code == 403


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(
            lambda url: _with(url, expires=str(int(time.time()) + 86400 * 365)), id="later-expiry"
        ),
        pytest.param(lambda url: _with(url, md5="A" * 22), id="other-signature"),
        pytest.param(lambda url: _with(url, k="deadbeef"), id="unknown-key-id"),
        pytest.param(lambda url: _with(url, k=""), id="empty-key-id"),
        pytest.param(lambda url: url.replace(".jpg?", ".JPG?"), id="other-path"),
    ],
)
def test_a_tampered_link_is_refused(server: str, files: Files, tamper) -> None:  # type: ignore[no-untyped-def]
    good = _link(server, files.private, CURRENT_SECRET)
    assert httpx.get(good).status_code == 200

    assert httpx.get(tamper(good)).status_code == 403


def test_a_link_for_one_private_file_does_not_open_another(server: str, files: Files) -> None:
    other = files.private.replace(".jpg", "-other.jpg")
    link = _link(server, files.private, CURRENT_SECRET)
    forged = link.replace(files.private, other)

    assert httpx.get(forged).status_code == 403


def test_public_files_need_no_signature_and_are_cacheable_forever(
    server: str, files: Files
) -> None:
    for relative in (files.public, files.variant):
        response = httpx.get(f"{server}/uploads/{relative}")
        assert response.status_code == 200
        assert response.content == files.data(relative)
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["access-control-allow-origin"] == "*"
        assert response.headers["x-content-type-options"] == "nosniff"
    assert httpx.get(f"{server}/uploads/{files.public}").headers["content-type"] == "image/jpeg"


def test_a_large_file_arrives_whole(server: str, files: Files) -> None:
    response = httpx.get(f"{server}/uploads/{files.large}", timeout=30)

    assert response.status_code == 200
    assert response.headers["content-length"] == str(2_000_000)
    assert response.content == files.data(files.large)


def test_the_pools_temporary_and_hidden_files_are_not_served(server: str) -> None:
    for relative in (".incoming/upload.part", ".tmp/worker/x.tmp", "pixelfox.sqlite3"):
        assert httpx.get(f"{server}/uploads/{relative}").status_code == 404


def test_both_servers_answer_a_byte_range_alike(server: str, files: Files) -> None:
    response = httpx.get(f"{server}/uploads/{files.public}", headers={"Range": "bytes=100-199"})

    assert response.status_code == 206
    assert response.headers["content-range"] == "bytes 100-199/100000"
    assert response.content == files.data(files.public)[100:200]


def test_both_servers_answer_304_to_a_client_that_has_the_file(server: str, files: Files) -> None:
    first = httpx.get(f"{server}/uploads/{files.public}")
    etag, modified = first.headers["etag"], first.headers["last-modified"]

    by_etag = httpx.get(f"{server}/uploads/{files.public}", headers={"If-None-Match": etag})
    by_date = httpx.get(f"{server}/uploads/{files.public}", headers={"If-Modified-Since": modified})

    assert (by_etag.status_code, by_etag.content) == (304, b"")
    assert (by_date.status_code, by_date.content) == (304, b"")
