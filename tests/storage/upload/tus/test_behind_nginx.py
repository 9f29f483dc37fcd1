"""tus through the shipped nginx site (rendered from the nginx role): chunks stream to the node."""

from __future__ import annotations

import dataclasses
import hashlib
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.serving.nginx import NginxSite
from tests.storage.conftest import APP_ORIGIN, FakeApp, Node, start_node
from tests.storage.test_upload_accepts import assert_error
from tests.storage.upload.tus.conftest import PHOTO, VERSION, Tus

LIMIT = 4 * 1024 * 1024


@pytest.fixture(scope="module")
def fronted(
    tmp_path_factory: pytest.TempPathFactory, fake_app: FakeApp, module_prefix: str
) -> Iterator[tuple[Node, Node]]:
    """(the node as clients reach it through nginx, the node itself)."""
    node = start_node(tmp_path_factory.mktemp("node"), fake_app, module_prefix)
    site = NginxSite(
        directory=tmp_path_factory.mktemp("nginx"),
        pool_path=node.pool,
        secret="link-secret",
        upstream=node.url.removeprefix("http://"),
        max_upload_bytes=LIMIT,
    ).start()
    yield dataclasses.replace(node, url=site.url), node
    site.stop()
    node.service.stop()


@pytest.fixture
def via_nginx(fronted: tuple[Node, Node]) -> Iterator[Node]:
    front, node = fronted
    node.clear()
    yield front
    node.clear()


def test_a_tus_upload_through_nginx_gets_the_single_uploads_answer(via_nginx: Node) -> None:
    final = Tus(via_nginx, via_nginx.token()).send(PHOTO, chunk=64 * 1024)

    assert final.status_code == 201, final.text
    assert via_nginx.app.completions[0]["sha256"] == hashlib.sha256(PHOTO).hexdigest()


def test_nginx_streams_a_chunk_to_the_node_as_it_arrives(via_nginx: Node) -> None:
    tus = Tus(via_nginx, via_nginx.token())
    url = tus.start(len(PHOTO))
    parts = urlsplit(url)
    head = (
        f"PATCH {parts.path} HTTP/1.1\r\nHost: s01\r\nTus-Resumable: {VERSION}\r\n"
        f"Authorization: Bearer {tus.token}\r\nUpload-Offset: 0\r\n"
        "Content-Type: application/offset+octet-stream\r\n"
        f"Content-Length: {len(PHOTO)}\r\n\r\n"
    )
    with socket.create_connection((parts.hostname, parts.port)) as sock:
        sock.sendall(head.encode() + PHOTO[:100_000])
        time.sleep(0.5)
        # The chunk has not ended, yet the node has its first bytes: nginx did not
        # hold them back (a buffering proxy would have sent none so far).
        assert tus.offset(url) == 100_000


def test_a_browser_on_the_apps_origin_gets_the_nodes_cors_headers_once(via_nginx: Node) -> None:
    tus = Tus(via_nginx, via_nginx.token())
    url = tus.start(len(PHOTO))

    preflight = httpx.options(
        url,
        headers={
            "Origin": APP_ORIGIN,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization,tus-resumable,upload-offset",
        },
    )
    answer = tus.patch(url, 0, PHOTO[:1000], Origin=APP_ORIGIN)

    assert preflight.headers.get_list("Access-Control-Allow-Origin") == [APP_ORIGIN]
    allowed = preflight.headers["Access-Control-Allow-Headers"]
    assert all(h in allowed for h in ("Authorization", "Tus-Resumable", "Upload-Offset"))
    assert answer.headers.get_list("Access-Control-Allow-Origin") == [APP_ORIGIN]
    exposed = answer.headers["Access-Control-Expose-Headers"]
    assert all(h in exposed for h in ("Location", "Upload-Offset", "Upload-Length", "Tus-Version"))


def test_a_chunk_over_the_upload_limit_is_refused_by_nginx_in_tus_terms(via_nginx: Node) -> None:
    tus = Tus(via_nginx, via_nginx.token(max_size=LIMIT * 2))
    url = tus.start(LIMIT * 2)

    answer = tus.patch(url, 0, b"x" * (LIMIT + 1))

    assert_error(answer, 413, "FILE_TOO_LARGE")
    assert answer.headers["Tus-Resumable"] == VERSION
    assert tus.offset(url) == 0
