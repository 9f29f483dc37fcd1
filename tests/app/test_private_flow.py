"""Private images end to end: a real app, storage node, node worker and Debian's nginx.

Upload private, get signed links that work at nginx and at the node's own
server while plain ones do not, then switch the image public and private
again: the node moves the files, the app hands out the new URLs, and the old
ones stop working.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import pytest_asyncio

from pixelfox_app.models import Image, ImageVariant
from pixelfox_protocol import links
from pixelfox_protocol.internal import UPLOAD_PATH
from tests.app import images
from tests.app.conftest import AppServer, Servers
from tests.serving.nginx import NginxSite
from tests.support import PIXELFOX, Service, free_port

pytestmark = pytest.mark.asyncio(loop_scope="module")


@dataclass
class Stack:
    app: AppServer
    node_url: str
    nginx_url: str
    pool_dir: Path


@pytest_asyncio.fixture(loop_scope="module")
async def stack(servers: Servers, tmp_path: Path) -> AsyncIterator[Stack]:
    """App, node s01 (server and worker) and nginx serving the node's one pool."""
    app = await servers.get("sqlite")
    node_url = f"http://127.0.0.1:{free_port()}"
    pool_dir = tmp_path / "pool-s01"
    pool_dir.mkdir()
    headers = await app.node("s01")
    await app.pool(
        "hot-s01",
        "s01",
        base_path=str(pool_dir),
        public_base_url=node_url,
        upload_api_url=node_url + UPLOAD_PATH,
    )
    link_secret = app.env["PIXELFOX_LINK_SECRET"]
    env = {
        "PIXELFOX_NODE_ID": "s01",
        "PIXELFOX_NODE_CREDENTIAL": headers["Authorization"].split(":", 1)[1],
        "PIXELFOX_APP_URL": app.url,
        "PIXELFOX_TOKEN_PUBLIC_KEYS": app.public_key,
        # The node's own link secret; nginx derives the same (the master stays with the app).
        "PIXELFOX_LINK_SECRET": links.node_secret(link_secret, "s01"),
        "PIXELFOX_REDIS_URL": app.env["PIXELFOX_REDIS_URL"],
        "PIXELFOX_REDIS_PREFIX": app.keys.prefix,
        "PIXELFOX_STATE_DIR": str(tmp_path / "state-s01"),
        "PIXELFOX_METRICS_BIND": "off",
        "PIXELFOX_WORKER_METRICS_BIND": "off",
    }
    node = Service(
        "s01",
        [*PIXELFOX, "serve-storage", "--bind", node_url.removeprefix("http://")],
        env,
        tmp_path / "s01.log",
    )
    worker = Service("s01-worker", [*PIXELFOX, "worker", "--node", "s01"], env, tmp_path / "w.log")
    nginx = NginxSite(
        directory=tmp_path / "nginx",
        pool_path=pool_dir,
        secret=link_secret,
        upstream=node_url.removeprefix("http://"),
    )
    node.start(f"{node_url}/healthz")
    worker.start()
    try:
        nginx.start()
        yield Stack(app, node_url, nginx.url, pool_dir)
    finally:
        nginx.stop()
        worker.stop()
        node.stop()


async def _wait(client: httpx.AsyncClient, status_url: str, done: Any) -> dict[str, Any]:
    status: dict[str, Any] = {}
    for _ in range(240):  # the machine is shared: allow up to a minute
        status = (await client.get(status_url)).json()
        if done(status):
            return status
        await asyncio.sleep(0.25)
    raise AssertionError(f"never done: {status}")


def _urls(status: dict[str, Any]) -> list[str]:
    return [status["url"], *(v["url"] for v in status["variants"])]


def _on(origin: str, url: str) -> str:
    """The same path and query at another server."""
    parts = urlsplit(url)
    return f"{origin}{parts.path}" + (f"?{parts.query}" if parts.query else "")


async def _codes(stack: Stack, url: str) -> list[int]:
    """What the node's own server and nginx answer for ``url``."""
    async with httpx.AsyncClient(timeout=10) as client:
        return [
            (await client.get(_on(origin, url))).status_code
            for origin in (stack.node_url, stack.nginx_url)
        ]


async def _upload(
    owner: httpx.AsyncClient, data: bytes, visibility: str
) -> tuple[dict[str, Any], str]:
    """Both steps of a direct upload; returns the session and the status URL."""
    body = {"file_size": len(data), "visibility": visibility}
    session = (await owner.post("/api/v1/upload/sessions", json=body)).json()
    async with httpx.AsyncClient(timeout=30) as client:
        uploaded = await client.post(
            session["upload_url"],
            headers={"Authorization": f"Bearer {session['token']}"},
            files={"file": ("image.jpg", data, "image/jpeg")},
        )
    assert uploaded.status_code == 201, uploaded.text
    return session, uploaded.json()["status_url"]


async def _switch(
    client: httpx.AsyncClient, image_uuid: str, visibility: str, status_url: str
) -> dict[str, Any]:
    answer = await client.post(
        f"/api/v1/images/{image_uuid}/visibility", json={"visibility": visibility}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["changing_to"] == visibility
    return await _wait(client, status_url, lambda s: s["changing_to"] is None)


async def test_a_private_upload_is_served_only_by_signed_link_and_moves_when_switched(
    stack: Stack,
):
    app = stack.app
    ada = await app.user("ada")
    eve = await app.user("eve")
    data = images.jpeg(640, 480)
    async with await app.token_client(ada) as owner:
        session, status_url = await _upload(owner, data, "private")
        private = await _wait(owner, status_url, lambda s: s["state"] != "processing")
        image = await Image.get(uuid=uuid.UUID(session["image_uuid"]))

        # On disk: everything under private/.
        assert private["state"] == "ready"
        assert image.path.startswith("private/original/")
        assert (stack.pool_dir / image.path).read_bytes() == data
        assert not (stack.pool_dir / "original").exists()
        variant_paths = [v.path for v in await ImageVariant.filter(image_id=image.id)]
        assert variant_paths and all(p.startswith("private/variants/") for p in variant_paths)
        assert not (stack.pool_dir / "variants").exists()

        # Signed links work at both servers; the bare URL and the public path do not.
        for url in _urls(private):
            assert "/uploads/private/" in url and "md5=" in url
            assert await _codes(stack, url) == [200, 200], url
            assert await _codes(stack, url.split("?")[0]) == [403, 403], url
            public_path = url.split("?")[0].replace("/uploads/private/", "/uploads/")
            assert await _codes(stack, public_path) == [404, 404], url
        async with httpx.AsyncClient(timeout=10) as client:
            fetched = await client.get(_on(stack.nginx_url, private["url"]))
        assert fetched.content == data

        # Somebody else: no status, no page.
        async with await app.token_client(eve) as stranger:
            assert (await stranger.get(status_url)).status_code == 404
            assert (await stranger.get(f"/i/{image.short_id}")).status_code == 404

        # Public: the files move out of private/, the signed links stop working.
        public = await _switch(owner, str(image.uuid), "public", status_url)
        assert public["visibility"] == "public"
        for url in _urls(public):
            assert "/uploads/private/" not in url and "?" not in url
            assert await _codes(stack, url) == [200, 200], url
        for old in _urls(private):
            assert await _codes(stack, old) == [404, 404], old
        assert not any(p.is_file() for p in (stack.pool_dir / "private").rglob("*"))

        # Private again: the public URLs stop, new signed ones work.
        again = await _switch(owner, str(image.uuid), "private", status_url)
        assert again["visibility"] == "private"
        for url in _urls(again):
            assert "/uploads/private/" in url
            assert await _codes(stack, url) == [200, 200], url
        for old in _urls(public):
            assert await _codes(stack, old) == [404, 404], old
    async with httpx.AsyncClient(timeout=10) as anonymous:
        assert (await anonymous.get(status_url)).status_code == 404


async def test_a_fresh_upload_switched_private_at_once_ends_with_every_file_private(
    stack: Stack,
):
    # The switch is asked for while the variants may still be being made: the
    # node's image lock orders the two jobs, and no variant stays public.
    app = stack.app
    ada = await app.user("ada")
    data = images.jpeg(1600, 1200)
    async with await app.token_client(ada) as owner:
        session, status_url = await _upload(owner, data, "public")
        await _switch(owner, session["image_uuid"], "private", status_url)
        final = await _wait(owner, status_url, lambda s: s["state"] != "processing")
    assert final["state"] == "ready" and final["visibility"] == "private"
    assert final["variants"]
    for url in _urls(final):
        assert "/uploads/private/" in url
        assert await _codes(stack, url) == [200, 200], url
    public_files = [
        p for sub in ("original", "variants") for p in (stack.pool_dir / sub).rglob("*")
    ]
    assert not [p for p in public_files if p.is_file() and session["image_uuid"] in p.name]
