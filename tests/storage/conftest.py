"""A real storage service (hypercorn subprocess) with one pool, and a real tiny "app".

Starting a service costs seconds, so one node serves a whole module; each test
gets a fresh, empty pool directory by clearing the module's pool. The "app" is
a real HTTP server in the test process that records completions and answers
them the way the control app does (``UploadResult``), or with whatever status a
test sets.
"""

from __future__ import annotations

import http.server
import json
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from pixelfox_protocol.internal import NODE_CONFIG_PATH, UPLOAD_COMPLETE_PATH, UPLOAD_PATH
from pixelfox_protocol.tokens import UploadClaims, mint, new_signing_key
from tests.conftest import REDIS_URL
from tests.support import PIXELFOX, Service, free_port

NODE_ID = "s01"
POOL_ID = 7
APP_ORIGIN = "http://app.pixelfox.test"
NODE_CREDENTIAL = "node-secret-for-tests"


class FakeApp:
    """The control app's internal API, as far as a node can tell: a real HTTP server."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.completions: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.status = 201
        # The app's error code of a refusal; empty: a proxy's page without one.
        self.error_code = "SESSION_INVALID"
        self._server: http.server.ThreadingHTTPServer | None = None
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path != UPLOAD_COMPLETE_PATH:
                    return self._answer(404, {"error": {"code": "NOT_FOUND", "message": ""}})
                fake.headers.append(dict(self.headers))
                fake.completions.append(body)
                if fake.status >= 300 and not fake.error_code:
                    # What a proxy in front of the app answers: no error body of ours.
                    return self._answer_page(fake.status)
                if fake.status >= 300:
                    error = {"error": {"code": fake.error_code, "message": "refused by test"}}
                    return self._answer(fake.status, error)
                uuid_ = body["image_uuid"]
                return self._answer(
                    fake.status,
                    {
                        "image_uuid": uuid_,
                        "view_url": f"{APP_ORIGIN}/i/{uuid_[:8]}",
                        "status_url": f"{APP_ORIGIN}/api/v1/image/status/{uuid_}",
                    },
                )

            def do_GET(self) -> None:
                if self.path == NODE_CONFIG_PATH:
                    return self._answer(503, {"error": {"code": "UNAVAILABLE", "message": ""}})
                return self._answer(404, {"error": {"code": "NOT_FOUND", "message": ""}})

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _answer_page(self, status: int) -> None:
                data = f"<html><body><h1>{status}</h1>nginx</body></html>".encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self._handler = Handler

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeApp:
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), self._handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@dataclass
class Node:
    """A running storage service and what a test needs to talk to it."""

    url: str
    pool: Path
    state: Path
    service: Service
    signing_key: str
    prefix: str
    app: FakeApp

    @property
    def upload_url(self) -> str:
        return self.url + UPLOAD_PATH

    def claims(self, **overrides: Any) -> UploadClaims:
        values: dict[str, Any] = {
            "node_id": NODE_ID,
            "user_id": 42,
            "pool_id": POOL_ID,
            "session_id": str(uuid.uuid4()),
            "jti": uuid.uuid4().hex,
            "max_size": 10_000_000,
            "expires_at": int(time.time()) + 600,
            "image_uuid": str(uuid.uuid4()),
            "request_id": uuid.uuid4().hex,
        }
        values.update(overrides)
        return UploadClaims(**values)

    def sign(self, claims: UploadClaims, **kw: Any) -> str:
        return mint(claims, self.signing_key, **kw)

    def token(self, **overrides: Any) -> str:
        return self.sign(self.claims(**overrides))

    def post(
        self,
        token: str | None,
        data: bytes,
        filename: str = "photo.jpg",
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """The seed's curl example: multipart field ``file`` and a Bearer token."""
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        return httpx.post(
            self.upload_url, headers=sent, files={"file": (filename, data)}, timeout=30
        )

    def put(
        self, token: str, data: Any, content_type: str = "image/jpeg", **headers: str
    ) -> httpx.Response:
        return httpx.put(
            self.upload_url,
            headers={"Authorization": f"Bearer {token}", "Content-Type": content_type, **headers},
            content=data,
            timeout=30,
        )

    def files(self) -> list[Path]:
        """Every file in the pool (originals, temporaries, anything)."""
        return sorted(p for p in self.pool.rglob("*") if p.is_file())

    def temp_files(self) -> list[Path]:
        return sorted(p for p in (self.pool / ".incoming").glob("*") if p.is_file())

    def clear(self) -> None:
        for child in self.pool.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()
        # Files only: the node's outbox loop keeps using the folder.
        for record in (self.state / "outbox").rglob("*"):
            if record.is_file():
                record.unlink()
        self.app.completions.clear()
        self.app.headers.clear()
        self.app.status = 201
        self.app.error_code = "SESSION_INVALID"


def start_node(tmp: Path, app: FakeApp, prefix: str, **env: str) -> Node:
    pool, state = tmp / "pool", tmp / "state"
    pool.mkdir(parents=True, exist_ok=True)
    state.mkdir(parents=True, exist_ok=True)
    private, public = new_signing_key()
    port = free_port()
    service = Service(
        "storage",
        [*PIXELFOX, "serve-storage", "--bind", f"127.0.0.1:{port}"],
        {
            "PIXELFOX_NODE_ID": NODE_ID,
            "PIXELFOX_NODE_CREDENTIAL": NODE_CREDENTIAL,
            "PIXELFOX_NODE_POOLS": f"{POOL_ID}={pool}",
            "PIXELFOX_STATE_DIR": str(state),
            "PIXELFOX_TOKEN_PUBLIC_KEYS": public,
            "PIXELFOX_REDIS_URL": REDIS_URL,
            "PIXELFOX_REDIS_PREFIX": prefix,
            "PIXELFOX_APP_URL": app.url,
            "PIXELFOX_CORS_ORIGIN": APP_ORIGIN,
            "PIXELFOX_METRICS_BIND": "off",
            **env,
        },
        tmp / "storage.log",
    )
    service.start(f"http://127.0.0.1:{port}/healthz")
    return Node(f"http://127.0.0.1:{port}", pool, state, service, private, prefix, app)


@pytest.fixture(scope="module")
def module_prefix() -> Iterator[str]:
    """Like ``redis_prefix``, for a node that serves a whole module."""
    prefix = f"pftest-{uuid.uuid4().hex[:10]}"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(scope="module")
def fake_app() -> Iterator[FakeApp]:
    app = FakeApp().start()
    yield app
    app.stop()


@pytest.fixture(scope="module")
def running_node(
    tmp_path_factory: pytest.TempPathFactory, fake_app: FakeApp, module_prefix: str
) -> Iterator[Node]:
    node = start_node(tmp_path_factory.mktemp("node"), fake_app, module_prefix)
    yield node
    assert node.service.stop() == 0, node.service.log()


@pytest.fixture
def node(running_node: Node) -> Iterator[Node]:
    """The module's node with an empty pool and a fresh app record."""
    running_node.clear()
    yield running_node
    running_node.clear()
