"""Scrub tests on a real stack: moto's S3 server, ``serve-app`` (hypercorn) on SQLite,
node ``s01``'s worker on real Redis (the backup tests' ``stack``, one per package).

Each test gets a pool of its own (``scrub_pool``), so its faults and its clean
files are its own; images there are made as an upload leaves them and then
processed by the node worker (real variants, with their SHA-256 recorded) and
backed up to the bucket by the worker's backup job.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest_asyncio

from pixelfox_app.models import Image, ImageState, ImageVariant, StoragePool
from pixelfox_common.logs import new_request_id
from pixelfox_protocol import jobs
from pixelfox_storage.node_jobs.queue import enqueue
from pixelfox_storage.pools import REFRESH_INTERVAL
from tests.backup.conftest import BUCKET, NODE, Stack, Stored, stack
from tests.support import PIXELFOX, ROOT

__all__ = ["stack"]


@dataclass
class Pool:
    stack: Stack
    name: str
    id: int
    dir: Path

    async def ready_image(self) -> tuple[Stored, list[ImageVariant]]:
        """An uploaded original, its variants made by the worker, backed up to S3."""
        stored = await self.stack.image(pool=self.name)
        job_id = self.stack.keys.restore_job(NODE, stored.uuid)
        self.stack.job_ids.append(job_id)
        args = jobs.ProcessImage(
            image_uuid=stored.uuid, pool_id=self.id, path=stored.path, request_id=new_request_id()
        )
        queue = self.stack.keys.node_background_queue(NODE)
        assert await enqueue(self.stack.arq, args, queue=queue, job_id=job_id)
        deadline = time.monotonic() + 60
        while (await Image.get(uuid=stored.uuid)).state == ImageState.PROCESSING:
            assert time.monotonic() < deadline, "not processed in 60 s"
            await asyncio.sleep(0.05)
        assert (await self.stack.back_up(stored))["state"] == "backed-up"
        image = await Image.get(uuid=stored.uuid)
        variants = await ImageVariant.filter(image_id=image.id).order_by("id")
        assert variants and all(v.sha256 for v in variants)
        return stored, variants

    def files(self) -> dict[str, tuple[str, float]]:
        """Every file under the pool: relative path → (SHA-256, mtime)."""
        found = {}
        for path in self.dir.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                found[path.relative_to(self.dir).as_posix()] = (
                    hashlib.sha256(data).hexdigest(),
                    path.stat().st_mtime,
                )
        return found

    def scrub(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``pixelfox scrub --pool <id> …`` as the operator runs it on the node."""
        return self.cli("scrub", "--pool", str(self.id), "--no-progress", *args)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*PIXELFOX, *args],
            env={**os.environ, **self.stack.node_env()},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )

    async def report(self) -> dict[str, Any]:
        """The last report the node kept for the admin."""
        raw = await self.stack.arq.get(self.stack.keys.node_scrub(NODE, self.id))
        assert raw is not None
        state: dict[str, Any] = json.loads(raw)
        return state


# More than the tests here take; made at once, before the worker looks for them.
POOLS = 24


@pytest_asyncio.fixture(scope="package", loop_scope="package")
async def pool_bank(stack: Stack) -> list[Pool]:
    """Fresh pools for the package's tests. The worker refreshes its pool map on an
    unknown pool at most every ``pools.REFRESH_INTERVAL`` s, and it read the map when
    it started: wait that long once, so its first job on any of them finds it."""
    bank = []
    for _ in range(POOLS):
        name = f"scrub-{secrets.token_hex(3)}"
        directory = stack.tmp / f"pool-{name}"
        directory.mkdir()
        pool = await StoragePool.create(
            name=f"hot-s01-{name}",
            node_id=NODE,
            base_path=str(directory),
            backup_bucket=BUCKET,
            backup_prefix=stack.backup_prefix + "/",
        )
        stack.pools[name] = (pool.id, directory)
        bank.append(Pool(stack, name, pool.id, directory))
    await asyncio.sleep(REFRESH_INTERVAL + 1)
    return bank


@pytest_asyncio.fixture(loop_scope="package")
async def scrub_pool(pool_bank: list[Pool]) -> Pool:
    """A pool of the test's own (empty until the test fills it)."""
    assert pool_bank, "no spare pool left: raise POOLS"
    return pool_bank.pop()
