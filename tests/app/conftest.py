"""A real control app (hypercorn subprocess) on a migrated database, plus data helpers.

Starting a server costs seconds, so one server per database (and per extra
environment) serves a whole test module; before every test the database rows
and the Redis keys of the module's prefix are wiped, so each test still starts
from nothing. The test process opens the same database through Tortoise, so
a test can arrange rows directly and assert on what the app wrote.

Every test module here runs in one event loop per module:
``pytestmark = pytest.mark.asyncio(loop_scope="module")``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from pixelfox_app import knobs
from pixelfox_app.auth.passwords import hash_password
from pixelfox_app.auth.tokens import create_api_token
from pixelfox_app.db import close_db, init_db
from pixelfox_app.dbschema import migrate
from pixelfox_app.models import (
    ApiToken,
    GuestUpload,
    Image,
    ImageVariant,
    Invite,
    Move,
    MoveItem,
    Setting,
    StorageNode,
    StoragePool,
    UploadSession,
    User,
    UserSession,
)
from pixelfox_app.nodes import register_node
from pixelfox_app.placement.health import store_beat
from pixelfox_protocol.internal import Heartbeat, PoolHeartbeat, node_authorization
from pixelfox_protocol.keys import RedisKeys
from pixelfox_protocol.tokens import new_signing_key
from tests.conftest import REDIS_URL, _create_pg_database, _drop_pg_database, redis_patterns
from tests.support import PIXELFOX, Service, free_port

PASSWORD = "correct horse battery staple"
# Deleted children first.
_TABLES = (
    MoveItem,
    Move,
    ImageVariant,
    Image,
    UploadSession,
    ApiToken,
    UserSession,
    Invite,
    GuestUpload,
    User,
    StoragePool,
    StorageNode,
    Setting,
)


@dataclass
class AppServer:
    """A running control app and the keys it was started with."""

    url: str
    database_url: str
    service: Service
    signing_key: str
    public_key: str
    keys: RedisKeys
    redis: aioredis.Redis
    env: dict[str, str] = field(default_factory=dict)

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=10.0, **kwargs)

    async def user(self, username: str = "ada", *, is_admin: bool = False) -> User:
        return await User.create(
            username=username, password_hash=hash_password(PASSWORD), is_admin=is_admin
        )

    async def token_client(self, user: User, **kwargs: Any) -> httpx.AsyncClient:
        """A client that authenticates with a personal API token (like a script)."""
        token = await create_api_token(user, "tests")
        return self.client(headers={"Authorization": f"Bearer {token}"}, **kwargs)

    async def login(self, client: httpx.AsyncClient, username: str) -> None:
        """Log ``client`` in with the session cookie and send its CSRF token, like a page."""
        response = await client.post(
            "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        csrf = (await client.get("/api/v1/csrf")).json()
        client.headers[csrf["header"]] = csrf["csrf_token"]

    async def node(self, node_id: str = "s01") -> dict[str, str]:
        """Register a node; returns the Authorization header it calls the app with."""
        credential = await register_node(node_id, f"{node_id}.pixelfox.test")
        return {"Authorization": node_authorization(node_id, credential)}

    def node_env(self, node_id: str, headers: dict[str, str], state_dir: Path) -> dict[str, str]:
        """The environment of a real storage node of this app (it asks the app for its pools).

        ``headers``: what :meth:`node` returned for ``node_id``.
        """
        return {
            "PIXELFOX_NODE_ID": node_id,
            "PIXELFOX_NODE_CREDENTIAL": headers["Authorization"].split(":", 1)[1],
            "PIXELFOX_APP_URL": self.url,
            "PIXELFOX_TOKEN_PUBLIC_KEYS": self.public_key,
            "PIXELFOX_REDIS_URL": self.env["PIXELFOX_REDIS_URL"],
            "PIXELFOX_REDIS_PREFIX": self.keys.prefix,
            "PIXELFOX_STATE_DIR": str(state_dir),
            "PIXELFOX_METRICS_BIND": "off",
        }

    async def pool(
        self, name: str = "hot-1", node_id: str = "s01", *, beat: bool = True, **fields: Any
    ) -> StoragePool:
        """A pool on ``node_id``; with ``beat`` its node has just sent a healthy heartbeat."""
        values: dict[str, Any] = {
            "base_path": f"/srv/pixelfox/{name}",
            "public_base_url": f"http://{node_id}.pixelfox.test",
            "upload_api_url": f"http://{node_id}.pixelfox.test/api/internal/upload",
        }
        values.update(fields)
        pool = await StoragePool.create(name=name, node_id=node_id, **values)
        if beat:
            await self.beat(node_id)
        return pool

    async def beat(self, node_id: str, free_bytes: int = 1 << 40) -> None:
        """Record a heartbeat of ``node_id`` reporting all its pools, as the app's receiver does.

        Placement needs a fresh heartbeat; tests without a real node use this one.
        """
        pools = await StoragePool.filter(node_id=node_id).order_by("id")
        beat = Heartbeat(
            node_id=node_id,
            version="test",
            pools=[
                PoolHeartbeat(
                    pool_id=p.id,
                    free_bytes=free_bytes,
                    used_bytes=p.used_bytes,
                    capacity_bytes=p.capacity_bytes or free_bytes,
                    used_pct=0.0,
                )
                for p in pools
            ],
        )
        await store_beat(self.redis, self.keys, beat, [p.id for p in pools])

    async def knob(self, key: str, value: Any) -> None:
        await knobs.put(key, value, by="tests")

    async def queued_jobs(self, node_id: str) -> list[str]:
        """Job ids waiting in a node's fresh-upload queue."""
        members = await self.redis.zrange(self.keys.node_queue(node_id), 0, -1)
        return [m.decode() for m in members]

    async def reset(self) -> None:
        """Forget every row and every Redis key of this server's prefix."""
        for model in _TABLES:
            await model.all().delete()
        await forget_redis(self.redis, self.keys.prefix)


async def forget_redis(redis: aioredis.Redis, prefix: str) -> None:
    """Delete every key of ``prefix``, arq's keys of its jobs (their ids carry it), and the
    Redis users a control worker's sync made (``<prefix>-node-*``)."""
    for pattern in redis_patterns(prefix):
        keys = [k async for k in redis.scan_iter(pattern)]
        if keys:
            await redis.delete(*keys)
    for raw in await redis.execute_command("ACL", "USERS"):
        name = raw.decode() if isinstance(raw, bytes) else str(raw)
        if name.startswith(f"{prefix}-"):
            await redis.execute_command("ACL", "DELUSER", name)


class Servers:
    """Servers of one test module, started on first use and kept until the module ends."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.prefix = f"pftest-{uuid.uuid4().hex[:10]}"
        self.redis = aioredis.Redis.from_url(REDIS_URL)
        self.running: dict[tuple[str, tuple[tuple[str, str], ...]], AppServer] = {}
        self.databases: dict[str, str] = {}
        self.pg_names: list[str] = []
        self.open_url: str | None = None

    async def database(self, kind: str) -> str:
        if kind not in self.databases:
            if kind == "sqlite":
                url = f"sqlite://{self.tmp / 'pixelfox.sqlite3'}"
            else:
                name, url = await _create_pg_database()
                self.pg_names.append(name)
            await migrate(url)
            self.databases[kind] = url
        return self.databases[kind]

    async def use_database(self, url: str) -> None:
        """Point this process's ORM at ``url`` (tests of one module may switch)."""
        if self.open_url != url:
            if self.open_url is not None:
                await close_db()
            await init_db(url)
            self.open_url = url

    async def get(self, kind: str = "sqlite", **env: str) -> AppServer:
        key = (kind, tuple(sorted(env.items())))
        server = self.running.get(key)
        if server is None:
            server = await self._start(await self.database(kind), env)
            self.running[key] = server
        await self.use_database(server.database_url)
        await server.reset()
        return server

    async def _start(self, database_url: str, env: dict[str, str]) -> AppServer:
        port = free_port()
        signing_key, public_key = new_signing_key()
        url = f"http://127.0.0.1:{port}"
        name = f"app-{len(self.running)}"
        full_env = {
            "PIXELFOX_DATABASE_URL": database_url,
            "PIXELFOX_REDIS_URL": REDIS_URL,
            "PIXELFOX_REDIS_PREFIX": self.prefix,
            "PIXELFOX_DATA_DIR": str(self.tmp / "data"),
            "PIXELFOX_PUBLIC_DOMAIN": url,
            "PIXELFOX_SECRET_KEY": "test-secret-key-0123456789",
            "PIXELFOX_TOKEN_SIGNING_KEY": signing_key,
            "PIXELFOX_LINK_SECRET": "test-link-secret",
            "PIXELFOX_METRICS_BIND": "off",
            **{f"PIXELFOX_{k.upper()}": v for k, v in env.items()},
        }
        service = Service(
            name,
            [*PIXELFOX, "serve-app", "--bind", f"127.0.0.1:{port}"],
            full_env,
            self.tmp / f"{name}.log",
        )
        service.start(f"{url}/healthz")
        return AppServer(
            url=url,
            database_url=database_url,
            service=service,
            signing_key=signing_key,
            public_key=public_key,
            keys=RedisKeys(self.prefix),
            redis=self.redis,
            env=full_env,
        )

    async def close(self) -> None:
        for server in self.running.values():
            server.service.stop()
        await forget_redis(self.redis, self.prefix)
        await self.redis.aclose()
        if self.open_url is not None:
            await close_db()
        for name in self.pg_names:
            await _drop_pg_database(name)


@asynccontextmanager
async def app_servers(tmp: Path) -> AsyncIterator[Servers]:
    """Servers of one module, all stopped (and their databases dropped) at the end."""
    registry = Servers(tmp)
    try:
        yield registry
    finally:
        await registry.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def servers(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Servers]:
    async with app_servers(tmp_path_factory.mktemp("app")) as registry:
        yield registry


GetServer = Callable[..., Awaitable[AppServer]]


@pytest_asyncio.fixture(loop_scope="module")
async def app_server(servers: Servers) -> AppServer:
    """The app on SQLite, with nothing in its database or its Redis prefix."""
    return await servers.get("sqlite")


@pytest_asyncio.fixture(loop_scope="module", params=["sqlite", "postgres"])
async def app_on_each_db(servers: Servers, request: pytest.FixtureRequest) -> AppServer:
    """The app once on SQLite and once on PostgreSQL, each emptied first."""
    return await servers.get(request.param)


@pytest_asyncio.fixture(loop_scope="module")
async def app_with(servers: Servers) -> GetServer:
    """``await app_with(trusted_proxies="127.0.0.1")``: an app with extra PIXELFOX_* env."""

    async def _get(**env: str) -> AppServer:
        return await servers.get("sqlite", **env)

    return _get


__all__ = ["PASSWORD", "AppServer", "GetServer", "Servers"]
