"""A real storage service speaking tus, and a plain HTTP client of its rules.

The node is the one of ``tests/storage/conftest.py`` (a hypercorn subprocess
with one pool and a real tiny app); :class:`Tus` sends tus requests to it the
way a client would, so each test reads as the protocol rule it checks.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from pixelfox_protocol.internal import TUS_PATH
from tests.storage import images
from tests.storage.conftest import FakeApp, Node, start_node

VERSION = "1.0.0"
CHUNK_TYPE = "application/offset+octet-stream"


def metadata(**fields: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in fields.items())


def checksum(algorithm: str, data: bytes) -> str:
    return f"{algorithm} {base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"


@dataclass
class Tus:
    """tus requests to one node, with one token (as a tus client holds one)."""

    node: Node
    token: str

    @property
    def endpoint(self) -> str:
        return self.node.url + TUS_PATH

    def headers(self, **extra: str) -> dict[str, str]:
        sent = {"Tus-Resumable": VERSION, **extra}
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        return sent

    def create(
        self, length: int, *, filename: str = "photo.jpg", body: bytes | None = None, **extra: str
    ) -> httpx.Response:
        headers = self.headers(
            **{"Upload-Length": str(length), "Upload-Metadata": metadata(filename=filename)}
        )
        if body is not None:
            headers["Content-Type"] = CHUNK_TYPE
        headers.update(extra)
        return httpx.post(self.endpoint, headers=headers, content=body, timeout=60)

    def url_of(self, created: httpx.Response) -> str:
        assert created.status_code == 201, created.text
        return self.node.url + created.headers["Location"]

    def start(self, length: int, **kw: Any) -> str:
        """A new upload's URL."""
        return self.url_of(self.create(length, **kw))

    def head(self, url: str, **extra: str) -> httpx.Response:
        return httpx.head(url, headers=self.headers(**extra), timeout=30)

    def offset(self, url: str) -> int:
        answer = self.head(url)
        assert answer.status_code == 200, answer.status_code
        return int(answer.headers["Upload-Offset"])

    def patch(self, url: str, offset: int, data: bytes, **extra: str) -> httpx.Response:
        headers = self.headers(**{"Upload-Offset": str(offset), "Content-Type": CHUNK_TYPE})
        headers.update(extra)
        return httpx.patch(url, headers=headers, content=data, timeout=60)

    def delete(self, url: str) -> httpx.Response:
        return httpx.delete(url, headers=self.headers(), timeout=30)

    def send(self, data: bytes, chunk: int, **create: Any) -> httpx.Response:
        """The whole file in PATCHes of ``chunk`` bytes; the last answer."""
        created = self.create(len(data), **create)
        if created.status_code != 201 or not data:
            return created  # refused, or an empty file: judged at once
        url = self.url_of(created)
        at = 0
        while True:
            answer = self.patch(url, at, data[at : at + chunk])
            if answer.status_code != 204:
                return answer
            at = int(answer.headers["Upload-Offset"])


# A real photo that compresses badly: a file of some size that passes every check.
PHOTO = images.noisy_jpeg(600, 400)


def tus_files(node: Node) -> list[Path]:
    folder = node.pool / ".incoming" / "tus"
    return sorted(p for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture
def tus(node: Node) -> Tus:
    return Tus(node, node.token())


@pytest.fixture(scope="module")
def brief_node(
    tmp_path_factory: pytest.TempPathFactory, fake_app: FakeApp, module_prefix: str
) -> Iterator[Node]:
    """A node whose resumable uploads expire after two seconds, swept every second."""
    node = start_node(
        tmp_path_factory.mktemp("brief"),
        fake_app,
        module_prefix,
        PIXELFOX_TUS_EXPIRY_SECONDS="2",
        PIXELFOX_UPLOAD_SWEEP_SECONDS="1",
    )
    yield node
    node.service.stop()


@pytest.fixture
def brief(brief_node: Node) -> Iterator[Node]:
    brief_node.clear()
    yield brief_node
    brief_node.clear()
