"""Cut-off uploads — a client that goes away, a node that is killed — leave nothing visible."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.storage import images
from tests.storage.conftest import FakeApp, Node, start_node
from tests.storage.test_upload_outbox import wait_for


@pytest.fixture(scope="module")
def sweeping_node(
    tmp_path_factory: pytest.TempPathFactory, fake_app: FakeApp, module_prefix: str
) -> Iterator[Node]:
    node = start_node(
        tmp_path_factory.mktemp("sweeping"),
        fake_app,
        module_prefix,
        PIXELFOX_UPLOAD_TEMP_MAX_AGE="3",
        PIXELFOX_UPLOAD_SWEEP_SECONDS="1",
    )
    yield node
    node.service.stop()


@pytest.fixture
def sweeping(sweeping_node: Node) -> Iterator[Node]:
    """A node that sweeps every second and calls temporary files stale after three."""
    sweeping_node.clear()
    yield sweeping_node
    sweeping_node.clear()


def start_upload(node: Node, token: str, total: int, first: bytes) -> socket.socket:
    """Begin a raw PUT of ``total`` bytes and send only ``first``."""
    parts = urlsplit(node.upload_url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    head = (
        f"PUT {parts.path} HTTP/1.1\r\nHost: node\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: image/jpeg\r\nContent-Length: {total}\r\n\r\n"
    )
    sock.sendall(head.encode() + first)
    return sock


def big_jpeg() -> bytes:
    return images.jpeg(2000, 1500)


def test_a_node_killed_mid_upload_leaves_no_visible_file_and_the_sweeper_takes_the_rest(
    sweeping: Node,
) -> None:
    data = big_jpeg()
    sock = start_upload(sweeping, sweeping.token(), len(data), data[: len(data) // 2])
    wait_for(lambda: sweeping.temp_files())

    sweeping.service.kill()
    sock.close()

    assert not (sweeping.pool / "original").exists() or not list(
        (sweeping.pool / "original").rglob("*.*")
    )
    assert sweeping.temp_files(), "the killed node had no chance to clean up"
    sweeping.service.start(f"{sweeping.url}/healthz")
    wait_for(lambda: not sweeping.temp_files(), timeout=15)
    assert sweeping.files() == []


def test_a_client_that_goes_away_mid_upload_leaves_nothing_and_may_retry(sweeping: Node) -> None:
    data = big_jpeg()
    token = sweeping.token()
    sock = start_upload(sweeping, token, len(data), data[: len(data) // 2])
    wait_for(lambda: sweeping.temp_files())

    sock.close()

    wait_for(lambda: not sweeping.temp_files(), timeout=5)
    assert sweeping.files() == []
    retried = sweeping.put(token, data)
    assert retried.status_code == 201, retried.text
    assert len(sweeping.files()) == 1


def test_the_sweeper_spares_a_slow_upload_that_is_still_receiving(sweeping: Node) -> None:
    data = big_jpeg()
    sock = start_upload(sweeping, sweeping.token(), len(data), data[:10000])
    sent = 10000
    try:
        # Five sweeps pass while the client trickles for longer than the age limit.
        for _ in range(20):
            sock.sendall(data[sent : sent + 1000])
            sent += 1000
            time.sleep(0.25)
            assert sweeping.temp_files()
        sock.sendall(data[sent:])
        answer = sock.recv(65536)
    finally:
        sock.close()
    assert answer.startswith(b"HTTP/1.1 201"), answer[:200]
    assert len(sweeping.files()) == 1
