"""Two storage nodes, their workers, the app and its control worker: real processes for moves.

One stack serves every test here (starting it costs seconds): ``serve-app`` and
``control-worker`` on a migrated SQLite file; nodes ``s01`` (pools ``a1`` …)
and ``s02`` (pools ``b1`` …), each a ``serve-storage`` that also serves its
``/uploads/`` and a ``pixelfox worker``. Each test makes its own pools, so the
moves of one test never see another's images. The test process opens the same
database through Tortoise to arrange images and to read what the move did.

Every test module here runs in the package's event loop:
``pytestmark = pytest.mark.asyncio(loop_scope="package")``.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import redis
from arq.connections import ArqRedis, RedisSettings, create_pool
from PIL import Image as PILImage

from pixelfox_app.auth.passwords import hash_password
from pixelfox_app.auth.tokens import create_api_token
from pixelfox_app.db import close_db, init_db
from pixelfox_app.dbschema import migrate
from pixelfox_app.models import (
    Image,
    ImageState,
    ImageVariant,
    StoragePool,
    User,
    Visibility,
)
from pixelfox_app.nodes import register_node
from pixelfox_protocol import jobs, layout, links
from pixelfox_protocol.internal import UPLOAD_PATH
from pixelfox_protocol.keys import RedisKeys
from pixelfox_protocol.tokens import new_signing_key
from tests.conftest import REDIS_URL, delete_redis_keys
from tests.support import PIXELFOX, Service, free_port

NODES = ("s01", "s02")
PASSWORD = "correct horse battery staple"
LINK_SECRET = "moves-link-secret-0123456789"
FINAL = ("done", "failed", "cancelled")
# Every test takes fresh pools; the whole folder in one process takes about 25 of s02's.
POOLS_PER_NODE = 40


@dataclass
class Stored:
    """An image as processing leaves it: original and variants on a pool, and the rows."""

    id: int
    uuid: str
    path: str
    sha256: str
    files: dict[str, bytes]  # pool-relative path → bytes (original and variants)


@dataclass
class Node:
    node_id: str
    url: str
    credential: str
    storage: Service | None = None
    worker: Service | None = None


@dataclass
class Stack:
    tmp: Path
    app_url: str
    prefix: str
    arq: ArqRedis
    signing_key: str = ""
    public_key: str = ""
    admin_token: str = ""
    nodes: dict[str, Node] = field(default_factory=dict)
    # The app's environment (for operator commands run on the app host).
    app_env: dict[str, str] = field(default_factory=dict)
    # Pools no test has used yet, per node.
    spare: dict[str, list[StoragePool]] = field(default_factory=dict)
    services: list[Service] = field(default_factory=list)
    # More settings of every node's processes (a package's own, e.g. S3).
    extra_node_env: dict[str, str] = field(default_factory=dict)

    @property
    def keys(self) -> RedisKeys:
        return RedisKeys(self.prefix)

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    def node_env(self, node_id: str) -> dict[str, str]:
        return {
            "PIXELFOX_NODE_ID": node_id,
            "PIXELFOX_NODE_CREDENTIAL": self.nodes[node_id].credential,
            "PIXELFOX_APP_URL": self.app_url,
            "PIXELFOX_REDIS_URL": REDIS_URL,
            "PIXELFOX_REDIS_PREFIX": self.prefix,
            "PIXELFOX_STATE_DIR": str(self.tmp / f"state-{node_id}"),
            "PIXELFOX_TOKEN_PUBLIC_KEYS": self.public_key,
            # The node's own link secret (the app holds the master).
            "PIXELFOX_LINK_SECRET": links.node_secret(LINK_SECRET, node_id),
            "PIXELFOX_HEARTBEAT_SECONDS": "1",
            "PIXELFOX_METRICS_BIND": "off",
            "PIXELFOX_WORKER_METRICS_BIND": "off",
            **self.extra_node_env,
        }

    async def pool(self, node_id: str) -> StoragePool:
        """An unused pool of the node (made before the nodes started, so they know it)."""
        if not self.spare[node_id]:
            raise AssertionError(f"no spare pool of {node_id} left: raise POOLS_PER_NODE")
        pool = self.spare[node_id].pop(0)
        await self.wait_for_pool(pool)
        return pool

    async def make_pools(self, node_id: str, count: int) -> None:
        url = self.nodes[node_id].url
        for n in range(count):
            directory = self.tmp / "pools" / f"{node_id}-{n}"
            directory.mkdir(parents=True)
            pool = await StoragePool.create(
                name=f"{node_id}-{n}",
                node_id=node_id,
                base_path=str(directory),
                public_base_url=url,
                upload_api_url=url + UPLOAD_PATH,
                reserve_bytes=0,
            )
            self.spare.setdefault(node_id, []).append(pool)

    async def wait_for_pool(self, pool: StoragePool, within: float = 20) -> None:
        """Until the pool's node reported it in a heartbeat (placement facts, node maps)."""
        key = self.keys.node_heartbeat(pool.node_id)
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            raw = await self.arq.get(key)
            health = await self.arq.hget(self.keys.node_health(pool.node_id), "state")
            if raw is not None and f'"pool_id": {pool.id},' in raw.decode() and health == b"up":
                return
            await asyncio.sleep(0.2)
        raise AssertionError(f"node {pool.node_id} never reported pool {pool.name}")

    async def image(self, pool: StoragePool, *, private: bool = False, variants: int = 2) -> Stored:
        """A ready image on ``pool``: a JPEG original and ``variants`` WebP files, with rows."""
        image_uuid = str(uuid.uuid4())
        when = datetime.now(UTC)
        path = layout.original_path(image_uuid, "jpg", when, private=private)
        files = {path: _jpeg()}
        owner = await User.create(username=f"u{secrets.token_hex(4)}", password_hash="x")
        image = await Image.create(
            uuid=image_uuid,
            short_id=secrets.token_urlsafe(6),
            owner=owner,
            pool=pool,
            path=path,
            size=len(files[path]),
            sha256=hashlib.sha256(files[path]).hexdigest(),
            mime="image/jpeg",
            width=64,
            height=48,
            state=ImageState.READY,
            visibility=Visibility.PRIVATE if private else Visibility.PUBLIC,
        )
        for n in range(variants):
            kind = f"w{(n + 1) * 16}"
            vpath = layout.variant_path(image_uuid, kind, "webp", when, private=private)
            files[vpath] = os.urandom(300 + n)
            await ImageVariant.create(
                image=image,
                pool=pool,
                kind=kind,
                format="webp",
                path=vpath,
                size=len(files[vpath]),
                width=16,
                height=12,
            )
        for relative, data in files.items():
            full = Path(pool.base_path) / relative
            full.parent.mkdir(parents=True, exist_ok=True)
            full.write_bytes(data)
        return Stored(image.id, image_uuid, path, image.sha256, files)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.get(f"{self.app_url}{path}", **kwargs)

    def ask_move(self, source: str, target: str, **extra: Any) -> httpx.Response:
        """``POST /api/v1/admin/moves`` as the admin."""
        return httpx.post(
            f"{self.app_url}/api/v1/admin/moves",
            json={"source": source, "target": target, **extra},
            headers=self.admin,
        )

    def start_move(self, source: StoragePool, target: StoragePool, **extra: Any) -> dict[str, Any]:
        answer = self.ask_move(source.name, target.name, **extra)
        assert answer.status_code == 201, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def move(self, move_id: int) -> dict[str, Any]:
        answer = httpx.get(f"{self.app_url}/api/v1/admin/moves/{move_id}", headers=self.admin)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def throttle(self, move_id: int, **throttle: Any) -> dict[str, Any]:
        """``POST /api/v1/admin/moves/<id>/throttle`` as the admin; the move's info."""
        answer = httpx.post(
            f"{self.app_url}/api/v1/admin/moves/{move_id}/throttle",
            json=throttle,
            headers=self.admin,
        )
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def act(self, move_id: int, action: str) -> dict[str, Any]:
        answer = httpx.post(
            f"{self.app_url}/api/v1/admin/moves/{move_id}/{action}", headers=self.admin
        )
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    async def wait_for(
        self,
        move_id: int,
        within: float = 60,
        *,
        done_at_least: int | None = None,
        planned_at_least: int | None = None,
    ) -> dict[str, Any]:
        """The move once it ended (or once that many images are done, or planned)."""
        deadline = time.monotonic() + within
        while True:
            move = self.move(move_id)
            if done_at_least is not None and move["done"] >= done_at_least:
                return move
            if planned_at_least is not None and move["planned"] >= planned_at_least:
                return move
            if done_at_least is None and planned_at_least is None and move["state"] in FINAL:
                return move
            if time.monotonic() > deadline:
                raise AssertionError(f"move {move_id} stuck: {move}\n{self.logs()}")
            await asyncio.sleep(0.1)

    def stop_worker(self, node_id: str) -> None:
        """Stop the node's worker: the jobs queued for it wait until :meth:`start_worker`.

        A test that must act on a move before any of its images is copied (pause,
        cancel) holds the source's worker this way, however fast the copies are.
        """
        worker = self.nodes[node_id].worker
        assert worker is not None
        worker.stop()
        self.nodes[node_id].worker = None

    async def wait_for_log(
        self, service: Service, count: int, *texts: str, within: float = 60
    ) -> None:
        """Until ``count`` lines of the service's log hold every one of ``texts``."""
        deadline = time.monotonic() + within
        while True:
            lines = service.log_path.read_text(errors="replace").splitlines()
            if sum(all(t in line for t in texts) for line in lines) >= count:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"not {count} lines with {texts}:\n{service.log()}")
            await asyncio.sleep(0.1)

    def urls(self, stored: Stored) -> list[str]:
        """The file URLs the app hands out for the image now (original first)."""
        answer = httpx.get(f"{self.app_url}/api/v1/image/status/{stored.uuid}", headers=self.admin)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        return [body["url"], *(v["url"] for v in body["variants"])]

    def logs(self) -> str:
        return "\n".join(f"--- {s.name}\n{s.log()[-3000:]}" for s in self.services)

    def start_worker(self, node_id: str, lane: str = "all") -> Service:
        """Start the node's worker; ``lane="fresh"`` leaves the background lane's jobs waiting."""
        suffix = "" if lane == "all" else f"-{lane}"
        worker = Service(
            f"worker-{node_id}{suffix}",
            [*PIXELFOX, "worker", "--node", node_id, "--lane", lane],
            self.node_env(node_id),
            self.tmp / f"worker-{node_id}{suffix}.log",
        )
        self.services.append(worker)
        worker.start()
        queue = self.keys.node_queue if lane == "fresh" else self.keys.node_background_queue
        _wait_polling(worker, [queue(node_id)])
        self.nodes[node_id].worker = worker
        return worker


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    PILImage.frombytes("RGB", (64, 48), os.urandom(64 * 48 * 3)).save(buffer, "JPEG")
    return buffer.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _wait_polling(service: Service, queues: list[str], timeout: float = 60) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    deadline = time.monotonic() + timeout
    try:
        while not all(client.exists(f"{q}:health-check") for q in queues):
            if service.proc is not None and service.proc.poll() is not None:
                raise RuntimeError(f"{service.name} exited:\n{service.log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{service.name} did not start polling:\n{service.log()}")
            time.sleep(0.05)
    finally:
        client.close()


@pytest_asyncio.fixture(scope="package", loop_scope="package")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path_factory.mktemp("moves"), NODES) as started:
        yield started


@asynccontextmanager
async def running_stack(
    tmp: Path, node_ids: tuple[str, ...], node_env: dict[str, str] | None = None
) -> AsyncIterator[Stack]:
    """The app, its control worker and one storage service and worker per node id
    (``node_env``: more settings of every node's processes)."""
    database_url = f"sqlite://{tmp / 'pixelfox.sqlite3'}"
    await migrate(database_url)
    await init_db(database_url)
    app_port = free_port()
    signing_key, public_key = new_signing_key()
    stack = Stack(
        tmp=tmp,
        app_url=f"http://127.0.0.1:{app_port}",
        prefix=f"pftest-{uuid.uuid4().hex[:10]}",
        arq=await create_pool(RedisSettings.from_dsn(REDIS_URL), **jobs.SERIALIZERS),
        signing_key=signing_key,
        public_key=public_key,
        extra_node_env=dict(node_env or {}),
    )
    try:
        admin = await User.create(
            username="admin", password_hash=hash_password(PASSWORD), is_admin=True
        )
        stack.admin_token = await create_api_token(admin, "moves tests")
        for node_id in node_ids:
            credential = await register_node(node_id, f"{node_id}.pixelfox.test")
            stack.nodes[node_id] = Node(node_id, f"http://127.0.0.1:{free_port()}", credential)
            await stack.make_pools(node_id, POOLS_PER_NODE)
        app_env = {
            "PIXELFOX_DATABASE_URL": database_url,
            "PIXELFOX_REDIS_URL": REDIS_URL,
            "PIXELFOX_REDIS_PREFIX": stack.prefix,
            "PIXELFOX_DATA_DIR": str(tmp / "data"),
            "PIXELFOX_PUBLIC_DOMAIN": stack.app_url,
            "PIXELFOX_SECRET_KEY": "moves-test-secret-key-0123456789",
            "PIXELFOX_TOKEN_SIGNING_KEY": signing_key,
            "PIXELFOX_LINK_SECRET": LINK_SECRET,
            "PIXELFOX_METRICS_BIND": "off",
            "PIXELFOX_WORKER_METRICS_BIND": "off",
        }
        stack.app_env = app_env
        app = Service(
            "app",
            [*PIXELFOX, "serve-app", "--bind", f"127.0.0.1:{app_port}"],
            app_env,
            tmp / "app.log",
        )
        stack.services.append(app)
        app.start(f"{stack.app_url}/healthz", timeout=60)
        for node_id, node in stack.nodes.items():
            bind = node.url.removeprefix("http://")
            node.storage = Service(
                f"storage-{node_id}",
                [*PIXELFOX, "serve-storage", "--bind", bind],
                stack.node_env(node_id),
                tmp / f"storage-{node_id}.log",
            )
            stack.services.append(node.storage)
            node.storage.start(f"{node.url}/healthz", timeout=60)
            stack.start_worker(node_id)
        # After the nodes: its first upload API checks find them answering.
        control = Service("control", [*PIXELFOX, "control-worker"], app_env, tmp / "control.log")
        stack.services.append(control)
        control.start()
        _wait_polling(control, [stack.keys.control_queue])
        yield stack
    finally:
        for service in reversed(stack.services):
            service.stop()
        delete_redis_keys(stack.prefix)
        delete_redis_keys(f"arq:*:{stack.prefix}")  # arq's keys of the moves' jobs
        await stack.arq.aclose()
        await close_db()
