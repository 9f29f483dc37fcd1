"""The seed's two-step curl flow, end to end: a real app, a real storage node, real Redis."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from pixelfox_app.models import Image, UploadSession
from pixelfox_protocol.internal import UPLOAD_PATH
from tests.app import images
from tests.app.conftest import AppServer, Servers
from tests.support import PIXELFOX, Service, free_port

pytestmark = pytest.mark.asyncio(loop_scope="module")


@dataclass
class Stack:
    app: AppServer
    node_url: str
    pool_dir: Path
    pool_id: int
    node_env: dict[str, str]
    tmp: Path


@pytest_asyncio.fixture(loop_scope="module")
async def stack(servers: Servers, tmp_path: Path) -> AsyncIterator[Stack]:
    """The app plus node s01 with one pool; the node learns its pools from the app."""
    app = await servers.get("sqlite")
    node_port = free_port()
    node_url = f"http://127.0.0.1:{node_port}"
    pool_dir = tmp_path / "pool-s01"
    pool_dir.mkdir()
    headers = await app.node("s01")
    credential = headers["Authorization"].split(":", 1)[1]
    pool = await app.pool(
        "hot-s01",
        "s01",
        base_path=str(pool_dir),
        public_base_url=node_url,
        upload_api_url=node_url + UPLOAD_PATH,
    )
    env = {
        "PIXELFOX_NODE_ID": "s01",
        "PIXELFOX_NODE_CREDENTIAL": credential,
        "PIXELFOX_APP_URL": app.url,
        "PIXELFOX_TOKEN_PUBLIC_KEYS": app.public_key,
        "PIXELFOX_REDIS_URL": app.env["PIXELFOX_REDIS_URL"],
        "PIXELFOX_REDIS_PREFIX": app.keys.prefix,
        "PIXELFOX_STATE_DIR": str(tmp_path / "state-s01"),
        "PIXELFOX_CORS_ORIGIN": app.url,
        "PIXELFOX_METRICS_BIND": "off",
        "PIXELFOX_WORKER_METRICS_BIND": "off",
    }
    node = Service(
        "s01",
        [*PIXELFOX, "serve-storage", "--bind", f"127.0.0.1:{node_port}"],
        env,
        tmp_path / "s01.log",
    )
    node.start(f"{node_url}/healthz")
    try:
        yield Stack(app, node_url, pool_dir, pool.id, env, tmp_path)
    finally:
        node.stop()


async def test_the_seeds_curl_flow_stores_the_file_and_records_its_sha256(stack: Stack):
    app = stack.app
    user = await app.user("ada")
    data = images.jpeg(320, 240)
    # 1) Ask the app for an upload session (a script: personal API token).
    async with await app.token_client(user) as script:
        answer = await script.post("/api/v1/upload/sessions", json={"file_size": len(data)})
    assert answer.status_code == 201, answer.text
    session = answer.json()
    assert session["upload_url"] == stack.node_url + UPLOAD_PATH
    # 2) Upload straight to the storage node with the token.
    async with httpx.AsyncClient(timeout=30) as client:
        uploaded = await client.post(
            session["upload_url"],
            headers={"Authorization": f"Bearer {session['token']}"},
            files={"file": ("image.jpg", data, "image/jpeg")},
        )
    assert uploaded.status_code == 201, uploaded.text
    result = uploaded.json()
    assert result["image_uuid"] == session["image_uuid"]
    image = await Image.get(uuid=uuid.UUID(result["image_uuid"]))
    assert result["view_url"] == f"{app.url}/i/{image.short_id}"
    stored = stack.pool_dir / image.path
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == image.sha256
    assert image.sha256 == hashlib.sha256(data).hexdigest()
    assert (image.pool_id, image.size, image.width, image.height) == (  # type: ignore[attr-defined]
        stack.pool_id,
        len(data),
        320,
        240,
    )
    assert (await UploadSession.get(id=uuid.UUID(session["session_id"]))).state == "used"
    assert await app.queued_jobs("s01") == [app.keys.process_job("s01", result["image_uuid"])]
    # The same token does not store a second file.
    async with httpx.AsyncClient(timeout=30) as client:
        replay = await client.post(
            session["upload_url"],
            headers={"Authorization": f"Bearer {session['token']}"},
            files={"file": ("image.jpg", data, "image/jpeg")},
        )
    assert replay.status_code == 409
    assert await Image.all().count() == 1


async def test_with_the_node_worker_running_the_status_turns_ready_with_urls_on_the_node(
    stack: Stack,
):
    app = stack.app
    worker = Service(
        "s01-worker", [*PIXELFOX, "worker", "--node", "s01"], stack.node_env, stack.tmp / "w.log"
    )
    worker.start()
    try:
        user = await app.user("ada")
        data = images.jpeg(800, 600)
        async with await app.token_client(user) as script:
            session = (
                await script.post("/api/v1/upload/sessions", json={"file_size": len(data)})
            ).json()
            async with httpx.AsyncClient(timeout=30) as client:
                uploaded = await client.post(
                    session["upload_url"],
                    headers={"Authorization": f"Bearer {session['token']}"},
                    files={"file": ("big.jpg", data, "image/jpeg")},
                )
            assert uploaded.status_code == 201, uploaded.text
            status: dict[str, object] = {}
            for _ in range(240):  # the machine is shared: allow up to a minute
                status = (await script.get(uploaded.json()["status_url"])).json()
                if status["state"] != "processing":
                    break
                await asyncio.sleep(0.25)
    finally:
        worker.stop()
    assert status["state"] == "ready", worker.log()
    image = await Image.get(uuid=uuid.UUID(session["image_uuid"]))
    assert status["url"] == f"{stack.node_url}/uploads/{image.path}"
    variants = status["variants"]
    assert isinstance(variants, list) and variants
    for variant in variants:
        assert variant["url"].startswith(f"{stack.node_url}/uploads/variants/")
        relative = variant["url"].removeprefix(f"{stack.node_url}/uploads/")
        assert (stack.pool_dir / relative).is_file()
