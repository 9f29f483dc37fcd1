"""A storage node behind the shipped nginx site, with its spool secret: the nginx-spool path.

Each test module gets its own node and nginx (module scope: they take seconds
to start); every upload sent through ``Front.via_nginx`` can be compared with
the same upload sent straight to ``Front.node``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from pixelfox_storage.upload.spooled import SPOOL_DIR
from tests.serving.nginx import NginxSite
from tests.storage.conftest import NODE_ID, FakeApp, Node, start_node

SPOOL_SECRET = "spool-secret-for-tests"


@dataclasses.dataclass
class Front:
    """The node as clients reach it through nginx, and the node itself for comparison."""

    nginx: NginxSite
    node: Node

    @property
    def via_nginx(self) -> Node:
        return dataclasses.replace(self.node, url=self.nginx.url)

    @property
    def spool(self) -> Path:
        return self.node.pool / SPOOL_DIR

    def reset(self) -> None:
        """Empty pool and app record; nginx's spool folder stays (nginx makes it at start only)."""
        self.node.clear()
        self.spool.mkdir(exist_ok=True)

    def stored(self) -> list[Path]:
        """The node's files in its pool, without nginx's spool folder.

        nginx deletes a body's spool file just after it answered, so that file
        can still be there when the client reads the answer.
        """
        pool = self.node.pool
        return [p for p in self.node.files() if SPOOL_DIR not in p.relative_to(pool).parts]

    def spool_files(self) -> list[Path]:
        return sorted(p for p in self.spool.iterdir()) if self.spool.exists() else []

    def log_records(self, event: str) -> list[dict[str, Any]]:
        """The node's JSON log records of ``event``, oldest first."""
        return [
            record
            for line in self.node.service.log_path.read_text(errors="replace").splitlines()
            if line.startswith("{") and (record := json.loads(line)).get("event") == event
        ]

    def stored_bodies(self) -> list[str]:
        """How each stored upload's body reached the node ("spooled" or "streamed")."""
        return [record["body"] for record in self.log_records("upload stored")]


@contextlib.contextmanager
def running_front(
    tmp_path_factory: pytest.TempPathFactory,
    fake_app: FakeApp,
    prefix: str,
    *,
    max_upload_bytes: int = 64 * 1024 * 1024,
) -> Iterator[Front]:
    """A node behind the shipped nginx site; ``max_upload_bytes`` is the operator's limit."""
    node = start_node(
        tmp_path_factory.mktemp("node"),
        fake_app,
        prefix,
        PIXELFOX_SPOOL_SECRET=SPOOL_SECRET,
        PIXELFOX_LOG_FORMAT="json",
        PIXELFOX_UPLOAD_SWEEP_SECONDS="1",
    )
    site = NginxSite(
        directory=tmp_path_factory.mktemp("nginx"),
        pool_path=node.pool,
        secret="link-secret",
        upstream=node.url.removeprefix("http://"),
        spool_secret=SPOOL_SECRET,
        max_upload_bytes=max_upload_bytes,
    ).start()
    try:
        yield Front(site, node)
    finally:
        site.stop()
        assert node.service.stop() == 0, node.service.log()


@pytest.fixture(scope="module")
def front(
    tmp_path_factory: pytest.TempPathFactory, fake_app: FakeApp, module_prefix: str
) -> Iterator[Front]:
    """A node behind the shipped nginx site, for the whole test module."""
    with running_front(tmp_path_factory, fake_app, module_prefix) as running:
        yield running


@contextlib.contextmanager
def half_sent(front: Front, method: str, content_type: str, body: bytes) -> Iterator[None]:
    """An upload through nginx that sends half its body, then (at exit) hangs up."""
    client = front.via_nginx
    parts = urlsplit(client.upload_url)
    head = (
        f"{method} {parts.path} HTTP/1.1\r\nHost: {NODE_ID}\r\n"
        f"Authorization: Bearer {client.token()}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    with socket.create_connection((parts.hostname, parts.port)) as sock:
        sock.sendall(head.encode() + body[: len(body) // 2])
        yield


def wait_for(condition: Callable[[], object], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
