"""A live control app, storage node and node worker (real subprocesses), JSON logs, metrics.

One installation for all tests of this directory: the services take seconds to
start, and the tests measure what they do as differences (before/after, or by
their own request id), so they do not disturb each other. Its Redis prefix is
unique and its keys are deleted afterwards, like ``redis_prefix`` does per test.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from pixelfox_app import knobs
from pixelfox_app.auth.passwords import hash_password
from pixelfox_app.auth.tokens import create_api_token
from pixelfox_app.db import close_db, init_db
from pixelfox_app.dbschema import migrate
from pixelfox_app.models import StoragePool, User
from pixelfox_app.nodes import register_node
from pixelfox_protocol.internal import UPLOAD_PATH
from pixelfox_protocol.tokens import new_signing_key
from tests.conftest import REDIS_URL, delete_redis_keys
from tests.support import PIXELFOX, Service, free_port

NODE_ID = "s01"
PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Seeded:
    node_credential: str
    user_token: str
    # A user of its own for the fuzzer, whose many sessions hit its rate limit, not ours.
    fuzz_token: str
    pool_id: int


@dataclass
class Live:
    """A running app + node and where to find their logs and metrics."""

    app_url: str
    node_url: str
    app_metrics: str
    node_metrics: str
    worker_metrics: str
    app: Service
    node: Service
    worker: Service
    redis_prefix: str
    database_url: str
    app_env: dict[str, str]
    node_env: dict[str, str]
    signing_key: str
    seeded: Seeded
    pool_dir: Path

    def log_lines(self, service: Service) -> list[dict[str, Any]]:
        """The service's JSON log lines so far (lines that are not JSON are skipped)."""
        lines = []
        for raw in service.log_path.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(raw)
            except ValueError:
                continue
            if isinstance(entry, dict):
                lines.append(entry)
        return lines

    def wait_for_log(
        self, service: Service, predicate: Any, timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        """Lines matching ``predicate``, waiting until there is at least one."""
        deadline = time.monotonic() + timeout
        while True:
            found = [line for line in self.log_lines(service) if predicate(line)]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


def metric_value(text: str, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus text exposition (0 when absent)."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        series, _, value = line.rpartition(" ")
        metric, _, label_text = series.partition("{")
        if metric != name:
            continue
        found = dict(
            part.split("=", 1) for part in label_text.rstrip("}").split(",") if "=" in part
        )
        found = {k: v.strip('"') for k, v in found.items()}
        if all(found.get(k) == v for k, v in labels.items()):
            return float(value)
    return 0.0


def scrape(url: str) -> str:
    response = httpx.get(url, timeout=5.0)
    response.raise_for_status()
    return response.text


async def _prepare_database(url: str, pool_dir: Path, node_url: str) -> Seeded:
    await migrate(url)
    await init_db(url)
    try:
        credential = await register_node(NODE_ID, f"{NODE_ID}.pixelfox.test")
        pool = await StoragePool.create(
            name="hot-1",
            node_id=NODE_ID,
            base_path=str(pool_dir),
            public_base_url=node_url,
            upload_api_url=f"{node_url}{UPLOAD_PATH}",
            capacity_bytes=10 << 30,
            reserve_bytes=0,
        )
        user = await User.create(username="ada", password_hash=hash_password(PASSWORD))
        token = await create_api_token(user, "observability tests")
        fuzzer = await User.create(username="fuzzer", password_hash=hash_password(PASSWORD))
        fuzz_token = await create_api_token(fuzzer, "fuzzing")
        # Each session the fuzzer opens promises its size to the pool until the
        # node's next beat; a small limit keeps hundreds of them from filling a
        # small disk (a correct NO_STORAGE, but not what the fuzzing is for).
        await knobs.put("max_upload_bytes", 2 * 1024 * 1024)
        # Every client here is 127.0.0.1: the fuzzer's hundreds of sessions must not
        # use up the address's limit for the tests after it (per user stays low).
        await knobs.put("upload_rate_limit_per_minute", 100_000)
    finally:
        await close_db()
    return Seeded(
        node_credential=credential,
        user_token=token,
        fuzz_token=fuzz_token,
        pool_id=pool.id,
    )


def _wait_until_placeable(app_url: str, user_token: str, timeout: float = 30.0) -> None:
    """Until the app places uploads on the node (its heartbeats arrived)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = httpx.post(
            f"{app_url}/api/v1/upload/sessions",
            headers={"Authorization": f"Bearer {user_token}"},
            json={"file_size": 1, "filename": "probe.jpg", "content_type": "image/jpeg"},
        )
        if answer.status_code == 201:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the app places no upload: {answer.status_code} {answer.text}")
        time.sleep(0.2)


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("live")
    prefix = f"pftest-{uuid.uuid4().hex[:10]}"
    database_url = f"sqlite://{tmp / 'pixelfox.sqlite3'}"
    pool_dir = tmp / "pool-hot-1"
    pool_dir.mkdir()
    app_port, node_port, app_metrics, node_metrics, worker_metrics = (free_port() for _ in range(5))
    seeded = asyncio.run(_prepare_database(database_url, pool_dir, f"http://127.0.0.1:{node_port}"))
    signing_key, public_key = new_signing_key()
    common = {
        "PIXELFOX_REDIS_URL": REDIS_URL,
        "PIXELFOX_REDIS_PREFIX": prefix,
        "PIXELFOX_LOG_FORMAT": "json",
        "PIXELFOX_LOG_LEVEL": "INFO",
    }
    app_env = {
        **common,
        "PIXELFOX_DATABASE_URL": database_url,
        "PIXELFOX_DATA_DIR": str(tmp / "app"),
        "PIXELFOX_PUBLIC_DOMAIN": f"http://127.0.0.1:{app_port}",
        "PIXELFOX_SECRET_KEY": "observability-tests",
        "PIXELFOX_TOKEN_SIGNING_KEY": signing_key,
        "PIXELFOX_METRICS_BIND": f"127.0.0.1:{app_metrics}",
    }
    node_env = {
        **common,
        "PIXELFOX_NODE_ID": NODE_ID,
        "PIXELFOX_NODE_CREDENTIAL": seeded.node_credential,
        "PIXELFOX_APP_URL": f"http://127.0.0.1:{app_port}",
        "PIXELFOX_TOKEN_PUBLIC_KEYS": public_key,
        "PIXELFOX_STATE_DIR": str(tmp / "node-state"),
        "PIXELFOX_METRICS_BIND": f"127.0.0.1:{node_metrics}",
        "PIXELFOX_WORKER_METRICS_BIND": f"127.0.0.1:{worker_metrics}",
        # Frequent beats: placement takes the node as soon as it has beaten.
        "PIXELFOX_HEARTBEAT_SECONDS": "1",
    }
    app = Service(
        "app",
        [*PIXELFOX, "serve-app", "--bind", f"127.0.0.1:{app_port}"],
        app_env,
        tmp / "app.log",
    )
    node = Service(
        "node",
        [*PIXELFOX, "serve-storage", "--bind", f"127.0.0.1:{node_port}"],
        node_env,
        tmp / "node.log",
    )
    worker = Service("worker", [*PIXELFOX, "worker"], node_env, tmp / "worker.log")
    try:
        app.start(f"http://127.0.0.1:{app_port}/healthz")
        node.start(f"http://127.0.0.1:{node_port}/healthz")
        # The worker has no HTTP API; its metrics listener answering means it started.
        worker.start(f"http://127.0.0.1:{worker_metrics}/metrics")
        _wait_until_placeable(f"http://127.0.0.1:{app_port}", seeded.user_token)
        yield Live(
            app_url=f"http://127.0.0.1:{app_port}",
            node_url=f"http://127.0.0.1:{node_port}",
            app_metrics=f"http://127.0.0.1:{app_metrics}/metrics",
            node_metrics=f"http://127.0.0.1:{node_metrics}/metrics",
            worker_metrics=f"http://127.0.0.1:{worker_metrics}/metrics",
            app=app,
            node=node,
            worker=worker,
            redis_prefix=prefix,
            database_url=database_url,
            app_env=app_env,
            node_env=node_env,
            signing_key=signing_key,
            seeded=seeded,
            pool_dir=pool_dir,
        )
    finally:
        worker.stop()
        node.stop()
        app.stop()
        delete_redis_keys(prefix)
