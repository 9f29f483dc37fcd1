"""Real workers on real Redis, reporting to a real control app.

One control app (``serve-app`` on a migrated SQLite file) serves a whole test
module; each test registers node ``s01`` afresh (a new credential), makes its
own pool directory and image rows, and runs its workers on its own
``redis_prefix``. The test process opens the same database through Tortoise to
arrange rows and to read what the app recorded.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from arq.connections import ArqRedis, RedisSettings, create_pool

from pixelfox_app.db import close_db, init_db
from pixelfox_app.dbschema import migrate
from pixelfox_app.models import Image, ImageVariant, StoragePool, User
from pixelfox_app.nodequeue import enqueue
from pixelfox_app.nodes import register_node
from pixelfox_protocol import jobs
from pixelfox_protocol.keys import RedisKeys
from pixelfox_protocol.tokens import new_signing_key
from tests.conftest import REDIS_URL, delete_redis_users
from tests.support import PIXELFOX, Service, free_port
from tests.worker import images

NODE = "s01"


@dataclass
class ControlApp:
    url: str
    database_url: str
    tmp: Path
    env: dict[str, str]
    services: list[Service] = field(default_factory=list)

    def start_another(self, port: int) -> Service:
        """A second app process on the same database (e.g. one that comes back)."""
        name = f"app-{port}"
        service = Service(
            name,
            [*PIXELFOX, "serve-app", "--bind", f"127.0.0.1:{port}"],
            self.env,
            self.tmp / f"{name}.log",
        )
        self.services.append(service)
        return service.start(f"http://127.0.0.1:{port}/healthz")


@pytest.fixture(scope="module")
def control_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlApp]:
    tmp = tmp_path_factory.mktemp("control-app")
    database_url = f"sqlite://{tmp / 'pixelfox.sqlite3'}"
    asyncio.run(migrate(database_url))
    port = free_port()
    signing_key, _ = new_signing_key()
    prefix = f"pftest-{uuid.uuid4().hex[:10]}"
    env = {
        "PIXELFOX_DATABASE_URL": database_url,
        "PIXELFOX_REDIS_URL": REDIS_URL,
        "PIXELFOX_REDIS_PREFIX": prefix,
        "PIXELFOX_DATA_DIR": str(tmp / "data"),
        "PIXELFOX_PUBLIC_DOMAIN": f"http://127.0.0.1:{port}",
        "PIXELFOX_SECRET_KEY": "test-secret-key-0123456789",
        "PIXELFOX_TOKEN_SIGNING_KEY": signing_key,
        "PIXELFOX_LINK_SECRET": "test-link-secret",
        "PIXELFOX_METRICS_BIND": "off",
    }
    app = ControlApp(f"http://127.0.0.1:{port}", database_url, tmp, env)
    app.start_another(port)
    yield app
    for service in app.services:
        service.stop()
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    delete_redis_users(client, prefix)
    client.close()


@pytest.fixture
async def orm(control_app: ControlApp) -> AsyncIterator[ControlApp]:
    """The app's database, open in this test's event loop."""
    await init_db(control_app.database_url)
    yield control_app
    await close_db()


@dataclass
class Stored:
    """An image as the node's ingest and the app's completion would leave it."""

    uuid: str
    path: str
    pool_id: int
    original: Path


@dataclass
class Node:
    """Node s01 of one test: its credential, pool directory, Redis and workers."""

    app: ControlApp
    prefix: str
    tmp: Path
    credential: str = ""
    pool_dir: Path = Path()
    pool_id: int = 0
    arq: ArqRedis | None = None
    # What the node's processes connect as (the node's own Redis user, see
    # test_node_redis_user.py); the test itself arranges and reads as the admin.
    redis_url: str = REDIS_URL
    workers: list[Service] = field(default_factory=list)
    job_ids: list[str] = field(default_factory=list)

    @property
    def keys(self) -> RedisKeys:
        return RedisKeys(self.prefix)

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "PIXELFOX_NODE_ID": NODE,
            "PIXELFOX_NODE_CREDENTIAL": self.credential,
            "PIXELFOX_APP_URL": self.app.url,
            "PIXELFOX_REDIS_URL": self.redis_url,
            "PIXELFOX_REDIS_PREFIX": self.prefix,
            "PIXELFOX_STATE_DIR": str(self.tmp / "node-state"),
            "PIXELFOX_WORKER_METRICS_BIND": "off",
            "PIXELFOX_METRICS_BIND": "off",
            **{f"PIXELFOX_{k.upper()}": v for k, v in extra.items()},
        }

    def start_worker(self, *args: str, **env: str) -> Service:
        """``pixelfox worker --node s01`` as a real process; returns once both lanes poll."""
        name = f"worker-{len(self.workers)}"
        service = Service(
            name,
            [*PIXELFOX, "worker", "--node", NODE, *args],
            self.env(**env),
            self.tmp / f"{name}.log",
        )
        self.workers.append(service)
        service.start()
        lanes = [self.keys.node_queue(NODE), self.keys.node_background_queue(NODE)]
        if "--lane" in args:
            lanes = lanes[:1] if args[args.index("--lane") + 1] == "fresh" else lanes[1:]
        client = redis.Redis.from_url(REDIS_URL)
        try:
            wait_for(
                lambda: all(client.exists(f"{q}:health-check") for q in lanes),
                30,
                f"{name} did not start polling:\n{service.log()}",
                service,
            )
        finally:
            client.close()
        return service

    async def store(self, make: Callable[[Path], Any] | None = None, ext: str = "jpg") -> Stored:
        """Put an original on the pool and its Image row (state processing) in the database."""
        image_uuid = str(uuid.uuid4())
        today = datetime.now(UTC)
        rel = f"original/{today:%Y/%m/%d}/{image_uuid}.{ext}"
        original = self.pool_dir / rel
        original.parent.mkdir(parents=True, exist_ok=True)
        (make or (lambda p: images.photo(p, 1600, 1200)))(original)
        user = await User.create(username=f"u{secrets.token_hex(4)}", password_hash="x")
        await Image.create(
            uuid=image_uuid,
            short_id=secrets.token_urlsafe(6),
            owner=user,
            pool_id=self.pool_id,
            path=rel,
            size=original.stat().st_size,
            sha256="0" * 64,
            mime="image/jpeg",
        )
        return Stored(image_uuid, rel, self.pool_id, original)

    async def enqueue(self, stored: Stored, *, request_id: str = "") -> None:
        """Queue processing exactly as the app's completion does."""
        assert self.arq is not None
        job_id = self.keys.process_job(NODE, stored.uuid)
        self.job_ids.append(job_id)
        args = jobs.ProcessImage(
            image_uuid=stored.uuid,
            pool_id=stored.pool_id,
            path=stored.path,
            request_id=request_id or uuid.uuid4().hex,
        )
        assert await enqueue(self.arq, args, queue=self.keys.node_queue(NODE), job_id=job_id)

    async def status(self, stored: Stored, base_url: str | None = None) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=base_url or self.app.url, timeout=10) as client:
            response = await client.get(f"/api/v1/image/status/{stored.uuid}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def wait_done(self, stored: Stored, within: float = 60) -> dict[str, Any]:
        """Poll the status API like the upload page does, until the image leaves processing."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            body = await self.status(stored)
            if body["state"] != "processing":
                return body
            await asyncio.sleep(0.05)
        logs = "\n".join(w.log() for w in self.workers)
        raise AssertionError(f"{stored.uuid} still processing after {within}s\n{logs}")


def control_env(node: Node) -> dict[str, str]:
    return {
        "PIXELFOX_DATABASE_URL": node.app.database_url,
        "PIXELFOX_REDIS_URL": REDIS_URL,
        "PIXELFOX_REDIS_PREFIX": node.prefix,
        "PIXELFOX_WORKER_METRICS_BIND": "off",
    }


def start_control_worker(node: Node, redis_url: str = REDIS_URL) -> Service:
    service = Service(
        "control-worker",
        [*PIXELFOX, "control-worker"],
        {**control_env(node), "PIXELFOX_REDIS_URL": redis_url},
        node.tmp / "control-worker.log",
    )
    node.workers.append(service)
    return service.start()


def wait_for(
    condition: Callable[[], Any], timeout: float, message: str, service: Service | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if service is not None and service.proc is not None and service.proc.poll() is not None:
            raise AssertionError(f"{service.name} exited:\n{service.log()}")
        time.sleep(0.02)
    raise AssertionError(message)


@pytest.fixture
async def node(orm: ControlApp, redis_prefix: str, tmp_path: Path) -> AsyncIterator[Node]:
    """Node s01 registered with the app, with one empty pool; workers stopped afterwards."""
    state = Node(app=orm, prefix=redis_prefix, tmp=tmp_path)
    state.credential = await register_node(NODE, f"{NODE}.pixelfox.test")
    state.pool_dir = tmp_path / "pool"
    state.pool_dir.mkdir()
    pool = await StoragePool.create(
        name=f"hot-{secrets.token_hex(4)}", node_id=NODE, base_path=str(state.pool_dir)
    )
    state.pool_id = pool.id
    state.arq = await create_pool(RedisSettings.from_dsn(REDIS_URL), **jobs.SERIALIZERS)
    yield state
    for worker in state.workers:
        worker.stop()
    # The database lives for the module: a later test's sweep must not see this
    # test's images (their jobs went with this test's Redis prefix).
    await ImageVariant.all().delete()
    await Image.all().delete()
    # arq keeps job, result and retry keys under its own global "arq:" prefix.
    arq_keys = [
        f"arq:{kind}:{job_id}"
        for job_id in state.job_ids
        for kind in ("job", "result", "retry", "in-progress")
    ]
    async for key in state.arq.scan_iter(f"arq:*{redis_prefix}:*", count=1000):
        arq_keys.append(key.decode())
    for start in range(0, len(arq_keys), 1000):
        await state.arq.delete(*arq_keys[start : start + 1000])
    await state.arq.aclose()
