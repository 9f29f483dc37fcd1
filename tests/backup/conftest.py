"""A real S3-compatible store, a real control app and a real node worker, for backup tests.

One stack serves every test module here (starting it costs seconds): moto's
standalone S3 server, ``serve-app`` on a migrated SQLite file, node ``s01``
registered with four pools (three with a backup bucket on that S3 server, one
without), and ``pixelfox worker --node s01`` with the S3 settings. The test
process opens the same database through Tortoise to arrange images and read
what the app recorded. Tests make their own images (fresh UUIDs), so they do
not see each other's files.

Every test module here runs in the package's event loop:
``pytestmark = pytest.mark.asyncio(loop_scope="package")``.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import pytest_asyncio
import redis
from arq.connections import ArqRedis, RedisSettings, create_pool
from botocore.config import Config
from PIL import Image as PILImage

from pixelfox_app.db import close_db, init_db
from pixelfox_app.dbschema import migrate
from pixelfox_app.models import Image, StoragePool, User
from pixelfox_app.nodequeue import enqueue_backup, job
from pixelfox_app.nodes import register_node
from pixelfox_protocol import jobs
from pixelfox_protocol.internal import node_authorization
from pixelfox_protocol.keys import RedisKeys
from pixelfox_protocol.tokens import new_signing_key
from pixelfox_storage.backup.restore import restore
from pixelfox_storage.config import StorageSettings
from tests.conftest import REDIS_URL
from tests.support import PIXELFOX, ROOT, Service, free_port

NODE = "s01"
BUCKET = "pixelfox-cold"
S3_KEY_ID = "testing"
S3_SECRET = "testing-secret"  # moto accepts any credentials
MOTO = str(Path(sys.executable).with_name("moto_server"))


@dataclass
class Stored:
    """An image as an upload leaves it: its original on the pool and its row."""

    uuid: str
    path: str
    sha256: str
    original: Path
    data: bytes


@dataclass
class Stack:
    tmp: Path
    app_url: str
    database_url: str
    s3_url: str
    prefix: str
    arq: ArqRedis
    credential: str = ""
    # Pool name → (id, directory): "main" for most tests, "whole" for restoring a pool,
    # "plain" without a backup bucket, "late" for catching up on missed backups.
    pools: dict[str, tuple[int, Path]] = field(default_factory=dict)
    backup_prefix: str = ""
    # The control app's environment (for operator commands run on the app host).
    app_env: dict[str, str] = field(default_factory=dict)
    services: list[Service] = field(default_factory=list)
    job_ids: list[str] = field(default_factory=list)

    @property
    def pool_id(self) -> int:
        return self.pools["main"][0]

    @property
    def pool_dir(self) -> Path:
        return self.pools["main"][1]

    @property
    def keys(self) -> RedisKeys:
        return RedisKeys(self.prefix)

    @property
    def node_headers(self) -> dict[str, str]:
        return {"Authorization": node_authorization(NODE, self.credential)}

    def node_env(self, **extra: str) -> dict[str, str]:
        """The environment of node s01's processes (worker, restore command)."""
        return {
            "PIXELFOX_NODE_ID": NODE,
            "PIXELFOX_NODE_CREDENTIAL": self.credential,
            "PIXELFOX_APP_URL": self.app_url,
            "PIXELFOX_REDIS_URL": REDIS_URL,
            "PIXELFOX_REDIS_PREFIX": self.prefix,
            "PIXELFOX_STATE_DIR": str(self.tmp / "node-state"),
            "PIXELFOX_S3_ENDPOINT_URL": self.s3_url,
            "PIXELFOX_S3_ACCESS_KEY_ID": S3_KEY_ID,
            "PIXELFOX_S3_SECRET_ACCESS_KEY": S3_SECRET,
            "PIXELFOX_S3_REGION": "us-east-1",
            "PIXELFOX_WORKER_METRICS_BIND": "off",
            "PIXELFOX_METRICS_BIND": "off",
            # The worker's scheduled scrub would rewrite the reports the scrub tests read.
            "PIXELFOX_SCRUB_ENABLED": "false",
            **extra,
        }

    def s3(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.s3_url,
            aws_access_key_id=S3_KEY_ID,
            aws_secret_access_key=S3_SECRET,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}),
        )

    def object_key(self, stored: Stored) -> str:
        return f"{self.backup_prefix}/{stored.path}"

    async def image(self, *, sha256: str | None = None, pool: str = "main") -> Stored:
        """A fresh JPEG original on a pool and its Image row (as a completed upload)."""
        pool_id, pool_dir = self.pools[pool]
        image_uuid = str(uuid.uuid4())
        rel = f"original/{datetime.now(UTC):%Y/%m/%d}/{image_uuid}.jpg"
        buffer = io.BytesIO()
        PILImage.frombytes("RGB", (64, 48), os.urandom(64 * 48 * 3)).save(buffer, "JPEG")
        data = buffer.getvalue()
        original = pool_dir / rel
        original.parent.mkdir(parents=True, exist_ok=True)
        original.write_bytes(data)
        digest = sha256 or hashlib.sha256(data).hexdigest()
        user = await User.create(username=f"u{secrets.token_hex(4)}", password_hash="x")
        await Image.create(
            uuid=image_uuid,
            short_id=secrets.token_urlsafe(6),
            owner=user,
            pool_id=pool_id,
            path=rel,
            size=len(data),
            sha256=digest,
            mime="image/jpeg",
            width=64,
            height=48,
        )
        return Stored(image_uuid, rel, digest, original, data)

    async def back_up(self, stored: Stored, within: float = 60) -> dict[str, Any]:
        """Queue the backup as the app's completion does; the job's result."""
        image = await Image.get(uuid=stored.uuid).select_related("pool")
        job_id = self.keys.backup_job(NODE, stored.uuid)
        self.job_ids.append(job_id)
        assert await enqueue_backup(
            self.arq, self.keys, image, image.pool, "req-" + stored.uuid[:8]
        )
        handle = job(self.arq, job_id, self.keys.node_background_queue(NODE))
        result: dict[str, Any] = await handle.result(timeout=within, poll_delay=0.1)
        return result

    def settings(self) -> StorageSettings:
        """Node s01's settings, for calling the restore library in this process."""
        env = self.node_env()
        return StorageSettings(
            node_id=NODE,
            node_credential=self.credential,
            app_url=self.app_url,
            redis_url=REDIS_URL,
            redis_prefix=self.prefix,
            state_dir=Path(env["PIXELFOX_STATE_DIR"]),
            s3_endpoint_url=self.s3_url,
            s3_access_key_id=S3_KEY_ID,
            s3_secret_access_key=S3_SECRET,
            s3_region="us-east-1",
        )

    async def restore_here(self, **kwargs: Any) -> dict[str, str]:
        """The restore library on node s01's settings: image uuid → outcome state."""
        if "image_uuid" in kwargs:
            self.job_ids.append(f"restore:{kwargs['image_uuid']}")
        outcomes = await restore(self.settings(), **kwargs)
        return {o.image_uuid: o.state for o in outcomes}

    def restore(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``pixelfox restore …`` as the operator runs it on the node."""
        for arg in args:
            if len(arg) == 36:
                self.job_ids.append(f"restore:{arg}")
        return subprocess.run(
            [*PIXELFOX, "restore", *args],
            env={**os.environ, **self.node_env()},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )


def _start_worker(stack: Stack) -> Service:
    service = Service(
        "worker", [*PIXELFOX, "worker", "--node", NODE], stack.node_env(), stack.tmp / "worker.log"
    )
    stack.services.append(service)
    service.start()
    lanes = [stack.keys.node_queue(NODE), stack.keys.node_background_queue(NODE)]
    client = redis.Redis.from_url(REDIS_URL)
    deadline = time.monotonic() + 60
    try:
        while not all(client.exists(f"{q}:health-check") for q in lanes):
            if service.proc is not None and service.proc.poll() is not None:
                raise RuntimeError(f"worker exited:\n{service.log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start polling:\n{service.log()}")
            time.sleep(0.05)
    finally:
        client.close()
    return service


@pytest_asyncio.fixture(scope="package", loop_scope="package")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    tmp = tmp_path_factory.mktemp("backup")
    database_url = f"sqlite://{tmp / 'pixelfox.sqlite3'}"
    await migrate(database_url)
    await init_db(database_url)
    s3_port, app_port = free_port(), free_port()
    stack = Stack(
        tmp=tmp,
        app_url=f"http://127.0.0.1:{app_port}",
        database_url=database_url,
        s3_url=f"http://127.0.0.1:{s3_port}",
        prefix=f"pftest-{uuid.uuid4().hex[:10]}",
        arq=await create_pool(RedisSettings.from_dsn(REDIS_URL), **jobs.SERIALIZERS),
    )
    try:
        moto = Service("moto", [MOTO, "-H", "127.0.0.1", "-p", str(s3_port)], {}, tmp / "moto.log")
        stack.services.append(moto)
        moto.start(f"{stack.s3_url}/moto-api/", timeout=60)
        stack.s3().create_bucket(Bucket=BUCKET)

        signing_key, _ = new_signing_key()
        stack.app_env = {
            "PIXELFOX_DATABASE_URL": database_url,
            "PIXELFOX_REDIS_URL": REDIS_URL,
            "PIXELFOX_REDIS_PREFIX": stack.prefix,
            "PIXELFOX_DATA_DIR": str(tmp / "data"),
            "PIXELFOX_PUBLIC_DOMAIN": stack.app_url,
            "PIXELFOX_SECRET_KEY": "test-secret-key-0123456789",
            "PIXELFOX_TOKEN_SIGNING_KEY": signing_key,
            "PIXELFOX_METRICS_BIND": "off",
        }
        app = Service(
            "app",
            [*PIXELFOX, "serve-app", "--bind", f"127.0.0.1:{app_port}"],
            stack.app_env,
            tmp / "app.log",
        )
        stack.services.append(app)
        app.start(f"{stack.app_url}/healthz", timeout=60)

        stack.credential = await register_node(NODE, f"{NODE}.pixelfox.test")
        stack.backup_prefix = f"pixelfox/{uuid.uuid4().hex[:6]}"
        for name in ("main", "whole", "plain", "late"):
            directory = tmp / f"pool-{name}"
            directory.mkdir()
            pool = await StoragePool.create(
                name=f"hot-s01-{name}",
                node_id=NODE,
                base_path=str(directory),
                backup_bucket="" if name == "plain" else BUCKET,
                backup_prefix=stack.backup_prefix + "/",
            )
            stack.pools[name] = (pool.id, directory)
        _start_worker(stack)
        yield stack
    finally:
        for service in reversed(stack.services):
            service.stop()
        await _forget(stack)
        await stack.arq.aclose()
        await close_db()


async def _forget(stack: Stack) -> None:
    """Delete the stack's Redis keys and arq's global job keys of its jobs."""
    doomed = [
        f"arq:{kind}:{job_id}"
        for job_id in stack.job_ids
        for kind in ("job", "result", "retry", "in-progress")
    ]
    async for key in stack.arq.scan_iter(f"*{stack.prefix}:*", count=1000):
        doomed.append(key.decode())
    for start in range(0, len(doomed), 1000):
        await stack.arq.delete(*doomed[start : start + 1000])
