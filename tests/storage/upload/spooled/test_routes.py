"""Uploads through the storage host's nginx: the body spooled to disk, the file handed over.

A real nginx runs the nginx role's storage site (what Ansible deploys) in front
of a real storage service with its spool secret. Every upload through nginx
must end exactly as the same upload sent straight to the node: same status,
same error code, the same file, and nothing left behind — not in the pool, not
in nginx's spool.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from pixelfox_storage.upload.spooled import SPOOL_DIR
from pixelfox_storage.upload.spooled.routes import (
    BODY_FILE_HEADER,
    SECRET_HEADER,
    UPLOAD_SPOOLED_PATH,
)
from tests.serving.nginx import LENGTH_REQUIRED, NginxSite
from tests.storage import images
from tests.storage.conftest import NODE_ID, FakeApp, start_node
from tests.storage.test_upload_accepts import assert_error
from tests.storage.upload.spooled.conftest import SPOOL_SECRET, Front, half_sent, wait_for


@pytest.fixture
def clean(front: Front) -> Iterator[Front]:
    """Empty pool and app record before; after the test nothing may be left anywhere."""
    front.reset()
    yield front
    _settle(front)
    assert front.node.files() == []
    assert front.spool_files() == []
    assert front.node.app.completions == []


@pytest.fixture
def fresh(front: Front) -> Iterator[Front]:
    front.reset()
    yield front
    front.reset()


def _settle(front: Front, seconds: float = 5.0) -> None:
    # nginx deletes its spool file when the request ends, just after the answer;
    # the node's spool follower then drops a part it copied out of a refused form.
    wait_for(lambda: not front.spool_files() and not front.node.temp_files(), seconds)


def _chunks(data: bytes, size: int = 8192) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def _code(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


# -- accepted ---------------------------------------------------------------------


def test_a_multipart_upload_through_nginx_is_stored_from_the_spooled_body(fresh: Front) -> None:
    data = images.noisy_jpeg(2000, 1500)  # ~3 MB: more than nginx keeps in memory
    client = fresh.via_nginx
    claims = client.claims()

    response = client.post(client.sign(claims), data, "holiday.jpg")

    assert response.status_code == 201, response.text
    _settle(fresh)
    [completion] = fresh.node.app.completions
    [stored] = fresh.stored()
    assert completion["path"] == stored.relative_to(fresh.node.pool).as_posix()
    assert completion["sha256"] == hashlib.sha256(stored.read_bytes()).hexdigest()
    assert stored.read_bytes() == data
    assert completion["original_filename"] == "holiday.jpg"
    assert fresh.stored_bodies()[-1] == "spooled"
    _settle(fresh)
    assert fresh.spool_files() == []


def test_a_raw_put_through_nginx_is_linked_into_place_not_copied(fresh: Front) -> None:
    data = images.noisy_jpeg(2000, 1500)  # ~3 MB: more than nginx keeps in memory
    client = fresh.via_nginx

    response = httpx.put(
        f"{client.upload_url}?filename=scan.jpg",
        headers={"Authorization": f"Bearer {client.token()}", "Content-Type": "image/jpeg"},
        content=data,
        timeout=30,
    )

    assert response.status_code == 201, response.text
    _settle(fresh)
    [stored] = fresh.stored()
    assert stored.read_bytes() == data
    [completion] = fresh.node.app.completions
    assert completion["sha256"] == hashlib.sha256(data).hexdigest()
    assert completion["original_filename"] == "scan.jpg"
    assert fresh.stored_bodies()[-1] == "spooled"
    _settle(fresh)
    # nginx's name is gone; the inode it wrote is the stored file, under one name.
    assert fresh.spool_files() == []
    assert stored.stat().st_nlink == 1


def test_health_checks_and_cors_preflight_pass_through_nginx(front: Front) -> None:
    url = front.via_nginx.upload_url
    assert httpx.head(url).status_code == 204
    preflight = httpx.options(
        url,
        headers={
            "Origin": "http://app.pixelfox.test",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "http://app.pixelfox.test"


def test_a_node_without_the_spool_secret_still_takes_uploads_streamed(
    tmp_path: Path, fake_app: FakeApp, module_prefix: str
) -> None:
    # A node not (yet) configured for spooling, e.g. during a rolling upgrade.
    node = start_node(tmp_path / "node", fake_app, module_prefix, PIXELFOX_LOG_FORMAT="json")
    site = NginxSite(
        directory=tmp_path / "nginx",
        pool_path=node.pool,
        secret="link-secret",
        upstream=node.url.removeprefix("http://"),
        spool_secret=SPOOL_SECRET,
    ).start()
    try:
        data = images.jpeg()
        client = dataclasses.replace(node, url=site.url)
        response = client.put(client.token(), data)
        assert response.status_code == 201, response.text
        assert Front(site, node).stored_bodies() == ["streamed"]
        [stored] = Front(site, node).stored()
        assert stored.read_bytes() == data
    finally:
        site.stop()
        fake_app.completions.clear()
        assert node.service.stop() == 0, node.service.log()


# -- refused: the same answer through nginx as straight from the node --------------

REFUSALS = {
    "bad-token": lambda n: n.post("not-a-token", images.jpeg()),
    "no-token": lambda n: n.post(None, images.jpeg()),
    "expired": lambda n: n.post(n.token(expires_at=int(time.time()) - 60), images.jpeg()),
    "wrong-node": lambda n: n.post(n.token(node_id="s99"), images.jpeg()),
    "too-large-multipart": lambda n: n.post(n.token(max_size=1000), images.jpeg(640, 480)),
    "too-large-declared": lambda n: n.put(n.token(max_size=1000), images.jpeg(640, 480)),
    "text-as-jpg": lambda n: n.post(n.token(), images.TEXT, "holiday.jpg"),
    "svg": lambda n: n.post(n.token(), images.SVG, "logo.jpg"),
    "svg-raw": lambda n: n.put(n.token(), images.SVG, "image/svg+xml"),
    "svg-raw-octets": lambda n: n.put(n.token(), images.SVG, "application/octet-stream"),
    "empty-raw": lambda n: n.put(n.token(), b""),
    "truncated": lambda n: n.post(n.token(), images.jpeg(640, 480)[:2000], "cut.jpg"),
    "no-file-part": lambda n: httpx.post(
        n.upload_url,
        headers={"Authorization": f"Bearer {n.token()}"},
        data={"title": "no file"},
        files={"other": ("a.jpg", images.jpeg())},
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_a_refusal_through_nginx_is_the_refusal_of_the_node(clean: Front, case: str) -> None:
    direct = _code(REFUSALS[case](clean.node))
    through_nginx = _code(REFUSALS[case](clean.via_nginx))

    assert through_nginx == direct
    assert direct[0] >= 400


def test_a_used_token_is_refused_through_nginx_as_by_the_node(fresh: Front) -> None:
    client = fresh.via_nginx
    token = client.token()
    assert client.post(token, images.jpeg()).status_code == 201

    assert_error(client.post(token, images.jpeg()), 409, "TOKEN_USED")
    assert_error(fresh.node.post(token, images.jpeg()), 409, "TOKEN_USED")
    assert len(fresh.stored()) == 1
    _settle(fresh)
    assert fresh.spool_files() == []


def test_a_refused_spooled_body_gives_the_token_back(clean: Front) -> None:
    client = clean.via_nginx
    token = client.token()
    assert_error(client.post(token, images.TEXT, "a.jpg"), 415, "UNSUPPORTED_TYPE")
    # Nothing was stored, so the same token may carry a good file now.
    assert client.post(token, images.jpeg()).status_code == 201
    clean.reset()


def _chunked_put(front: Front, token: str, data: bytes) -> bytes:
    """A PUT with a body of unknown length (chunked), sent until nginx answers; the answer."""
    parts = urlsplit(front.via_nginx.upload_url)
    head = (
        f"PUT {parts.path} HTTP/1.1\r\nHost: {NODE_ID}\r\nAuthorization: Bearer {token}\r\n"
        "Content-Type: image/jpeg\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(head.encode())
        try:
            for chunk in _chunks(data, 256 * 1024):
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                # Never spooled: not while the body is still coming either.
                assert front.spool_files() == []
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # nginx answered and closed before the whole body was sent
        return b"".join(iter(lambda: sock.recv(65536), b""))


def test_a_chunked_upload_is_refused_by_nginx_before_anything_is_spooled(clean: Front) -> None:
    # Larger than nginx's body buffer: had nginx read it, it would be in the spool.
    data = images.noisy_jpeg(640, 480) + os.urandom(4_000_000)
    token = clean.node.token()
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: _chunked_put(clean, token, data), range(4)))

    for answer in answers:
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 411 "), head
        assert b"x-request-id" not in head.lower()  # nginx's answer: the node never heard of it
        assert json.loads(body) == LENGTH_REQUIRED.to_dict()
    assert clean.spool_files() == []
    # The token was not even looked at, so it still carries a good file.
    assert clean.via_nginx.put(token, images.jpeg()).status_code == 201
    clean.reset()


# -- the handover is nginx's alone ----------------------------------------------------


def _spooled_file(front: Front, data: bytes) -> Path:
    front.spool.mkdir(exist_ok=True)
    path = front.spool / "0000000099"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("target", ["nginx", "node"])
def test_a_client_cannot_name_a_body_file(clean: Front, target: str) -> None:
    planted = _spooled_file(clean, images.jpeg())
    base = clean.nginx.url if target == "nginx" else clean.node.url
    client = clean.node
    headers = {
        "Authorization": f"Bearer {client.token()}",
        "Content-Type": "image/jpeg",
        BODY_FILE_HEADER: str(planted),
        SECRET_HEADER: "a guess",
    }

    response = httpx.put(base + UPLOAD_SPOOLED_PATH, headers=headers)

    assert_error(response, 403, "FORBIDDEN")
    planted.unlink()


def test_a_body_file_header_sent_with_an_upload_is_ignored(fresh: Front) -> None:
    planted = _spooled_file(fresh, images.png())
    data = images.jpeg()
    client = fresh.via_nginx
    response = client.put(client.token(), data, **{BODY_FILE_HEADER: str(planted)})

    assert response.status_code == 201, response.text
    [stored] = fresh.stored()
    assert stored.read_bytes() == data
    planted.unlink()


@pytest.mark.parametrize("where", ["outside-spool", "symlink", "dot-dot", "relative", "linked"])
def test_even_with_the_secret_only_plain_files_in_a_spool_are_taken(
    clean: Front, tmp_path: Path, where: str
) -> None:
    outside = tmp_path / "0000000001"
    outside.write_bytes(images.jpeg())
    clean.spool.mkdir(exist_ok=True)
    name = {
        "outside-spool": str(outside),
        "symlink": str(clean.spool / "0000000002"),
        "dot-dot": f"{clean.spool}/../{SPOOL_DIR}/0000000003",
        "relative": "0000000004",
        "linked": str(clean.spool / "0000000005"),
    }[where]
    if where == "symlink":
        os.symlink(outside, name)
    if where in ("dot-dot", "relative"):
        _spooled_file(clean, images.jpeg())
    if where == "linked":
        os.link(outside, name)  # a second name: an inode someone else holds
    headers = {
        "Authorization": f"Bearer {clean.node.token()}",
        "Content-Type": "image/jpeg",
        BODY_FILE_HEADER: name,
        SECRET_HEADER: SPOOL_SECRET,
    }

    response = httpx.put(clean.node.url + UPLOAD_SPOOLED_PATH, headers=headers)

    assert_error(response, 403, "FORBIDDEN")
    for leftover in clean.spool.iterdir():
        leftover.unlink()


# -- cut off ------------------------------------------------------------------------


def test_a_cut_off_upload_leaves_no_spool_file(clean: Front) -> None:
    # More than nginx's 1 MiB body buffer, so it writes to its spool before the end.
    data = images.noisy_jpeg(640, 480) + os.urandom(4_000_000)
    with half_sent(clean, "PUT", "image/jpeg", data):
        wait_for(clean.spool_files)
        assert clean.spool_files(), "nginx never spooled the body"
    # The connection is gone: nginx drops its file; the node never heard of it.


def test_a_spool_file_left_by_a_killed_nginx_worker_is_swept(clean: Front) -> None:
    stale = _spooled_file(clean, b"half a body")
    an_hour_ago = time.time() - 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))

    deadline = time.monotonic() + 10
    while stale.exists() and time.monotonic() < deadline:
        time.sleep(0.1)

    assert not stale.exists()
