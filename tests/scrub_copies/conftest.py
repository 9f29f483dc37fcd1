"""Scrub and repair with copies on two nodes: the moves tests' stack and moto's S3 server.

The same real processes as ``tests.moves.conftest`` (``serve-app`` and its
control worker on SQLite; per node ``serve-storage`` and ``pixelfox worker``),
nodes ``s01`` and ``s02``, every node's S3 settings pointing at a moto server
and its scheduled scrub off (the tests read the reports it would rewrite).
Images are processed by s01's worker (real variants, hashes recorded) and
pushed to a pool on s02 by the replica job, as after an upload.

Every test module here runs in the package's event loop:
``pytestmark = pytest.mark.asyncio(loop_scope="package")``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import pytest_asyncio
from botocore.config import Config

from pixelfox_app.models import Image, ImageCopy, ImageState, ImageVariant, StoragePool
from pixelfox_app.nodequeue import enqueue_processing
from pixelfox_storage.backup.store import object_key
from tests.backup.conftest import MOTO, S3_KEY_ID, S3_SECRET
from tests.copies.conftest import wait_for_copies
from tests.moves.conftest import Stack, running_stack
from tests.support import PIXELFOX, ROOT, Service, free_port

NODES = ("s01", "s02")
BUCKET = "pixelfox-cold"


@pytest_asyncio.fixture(scope="package", loop_scope="package")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    tmp = tmp_path_factory.mktemp("scrub-copies")
    s3_url = f"http://127.0.0.1:{free_port()}"
    moto = Service(
        "moto", [MOTO, "-H", "127.0.0.1", "-p", s3_url.rsplit(":", 1)[1]], {}, tmp / "moto.log"
    )
    moto.start(f"{s3_url}/moto-api/", timeout=60)
    env = {
        "PIXELFOX_S3_ENDPOINT_URL": s3_url,
        "PIXELFOX_S3_ACCESS_KEY_ID": S3_KEY_ID,
        "PIXELFOX_S3_SECRET_ACCESS_KEY": S3_SECRET,
        "PIXELFOX_S3_REGION": "us-east-1",
        "PIXELFOX_SCRUB_ENABLED": "false",
    }
    try:
        async with running_stack(tmp, NODES, env) as started:
            s3(started).create_bucket(Bucket=BUCKET)
            yield started
    finally:
        moto.stop()


def s3(stack: Stack) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=stack.extra_node_env["PIXELFOX_S3_ENDPOINT_URL"],
        aws_access_key_id=S3_KEY_ID,
        aws_secret_access_key=S3_SECRET,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}),
    )


@dataclass
class Copied:
    """A processed image with two verified copies: its primary on s01, a replica on s02."""

    uuid: str
    id: int
    primary: StoragePool
    replica: StoragePool
    files: dict[str, bytes]  # pool-relative path → bytes, original first
    variants: list[ImageVariant]

    @property
    def original(self) -> str:
        return next(iter(self.files))

    def at(self, pool: StoragePool, path: str) -> Path:
        return Path(pool.base_path) / path

    def damage(self, pool: StoragePool, path: str, how: str) -> None:
        """Plant a fault: ``deleted``, ``flipped`` (one byte) or ``truncated``."""
        full = self.at(pool, path)
        if how == "deleted":
            full.unlink()
        elif how == "flipped":
            data = bytearray(full.read_bytes())
            data[len(data) // 2] ^= 0x01
            full.write_bytes(bytes(data))
        else:
            full.write_bytes(full.read_bytes()[: full.stat().st_size // 2])

    def intact(self, pool: StoragePool) -> bool:
        return all(
            self.at(pool, p).is_file() and self.at(pool, p).read_bytes() == data
            for p, data in self.files.items()
        )


async def copied_image(stack: Stack, primary: StoragePool) -> Copied:
    """An image on ``primary`` processed by s01's worker and replicated to s02."""
    stored = await stack.image(primary, variants=0)
    image = await Image.get(id=stored.id)
    await Image.filter(id=image.id).update(state=ImageState.PROCESSING)
    assert await enqueue_processing(stack.arq, stack.keys, image, primary)
    deadline = time.monotonic() + 60
    while (await Image.get(id=image.id)).state != ImageState.READY:
        assert time.monotonic() < deadline, f"not processed in 60 s\n{stack.logs()}"
        await asyncio.sleep(0.05)
    copies = await wait_for_copies(stack, stored, 2)
    replica = next(c.pool for c in copies if c.pool.id != primary.id)
    variants = await ImageVariant.filter(image_id=image.id).order_by("id")
    assert variants and all(v.sha256 for v in variants)
    files = {p: (Path(primary.base_path) / p).read_bytes() for p in [stored.path]}
    files |= {v.path: (Path(primary.base_path) / v.path).read_bytes() for v in variants}
    return Copied(stored.uuid, stored.id, primary, replica, files, list(variants))


async def with_backup(stack: Stack, copied: Copied) -> None:
    """Give the primary's pool a bucket and put the original's backup object there."""
    prefix = f"scrub-copies/{uuid.uuid4().hex[:6]}/"
    await StoragePool.filter(id=copied.primary.id).update(
        backup_bucket=BUCKET, backup_prefix=prefix
    )
    key = object_key(prefix, copied.original)
    s3(stack).put_object(Bucket=BUCKET, Key=key, Body=copied.files[copied.original])


def scrub(stack: Stack, pool: StoragePool, *args: str) -> subprocess.CompletedProcess[str]:
    """``pixelfox scrub --pool <id> …`` as the operator runs it on the pool's node."""
    return subprocess.run(
        [*PIXELFOX, "scrub", "--pool", str(pool.id), "--no-progress", *args],
        env={**os.environ, **stack.node_env(pool.node_id or "")},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def last_report(stack: Stack, pool: StoragePool) -> dict[str, Any]:
    """The pool's last scrub report, as the node kept it for the admin."""
    raw = await stack.arq.get(stack.keys.node_scrub(pool.node_id or "", pool.id))
    assert raw is not None
    report: dict[str, Any] = json.loads(raw)["report"]
    return report


async def copy_state(copied: Copied, pool: StoragePool) -> str:
    return str((await ImageCopy.get(image_id=copied.id, pool_id=pool.id)).state)
