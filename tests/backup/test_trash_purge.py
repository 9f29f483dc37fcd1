"""The trash's purge against a real node worker and S3 (moto): files, backup object, rows.

An image past its trash retention is purged by the control worker's job: the
node deletes its trashed files and the original's object in the bucket, and
the app deletes the rows. A node that is down when the purge is queued finds
the job in its queue in Redis when it comes back.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from pixelfox_app.control_worker.purge import purge_trash
from pixelfox_app.images.trash import delete_image
from pixelfox_app.models import Image, StoragePool, User
from pixelfox_app.moves.control import bytes_on
from tests.backup.conftest import BUCKET, NODE, Stack, Stored, _start_worker

pytestmark = pytest.mark.asyncio(loop_scope="package")


def _files(pool_dir: Path, image_uuid: str) -> list[str]:
    return sorted(str(p.relative_to(pool_dir)) for p in pool_dir.rglob(f"{image_uuid}*"))


def _in_bucket(stack: Stack, stored: Stored) -> bool:
    try:
        stack.s3().head_object(Bucket=BUCKET, Key=stack.object_key(stored))
    except ClientError:
        return False
    return True


async def _delete(stack: Stack, stored: Stored) -> None:
    """The API's delete, as its owner asks for it."""
    image = await Image.get(uuid=stored.uuid).select_related("pool")
    owner = await User.get(id=image.owner_id)  # type: ignore[attr-defined]
    stack.job_ids += [
        stack.keys.trash_job(NODE, stored.uuid, True),
        stack.keys.purge_job(NODE, stored.uuid),
    ]
    await delete_image(image, owner, stack.arq, stack.keys)


async def _until(check, seconds: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("not done in time")
        await asyncio.sleep(0.1)


async def _past_retention(stored: Stored) -> None:
    await Image.filter(uuid=stored.uuid).update(deleted_at=datetime.now(UTC) - timedelta(days=8))


async def test_a_purge_deletes_the_trashed_files_the_backup_object_and_the_rows(stack: Stack):
    stored = await stack.image()
    assert (await stack.back_up(stored))["state"] == "backed-up"
    assert _in_bucket(stack, stored)

    await _delete(stack, stored)
    trashed = f".trash/{stored.path}"

    async def in_trash() -> bool:
        return _files(stack.pool_dir, stored.uuid) == [trashed]

    await _until(in_trash)
    # Within the retention the purge leaves it alone.
    await purge_trash({"redis": stack.arq, "keys": stack.keys})
    assert await Image.exists(uuid=stored.uuid)

    pool = await StoragePool.get(id=stack.pool_id)
    before = await bytes_on(pool)
    await _past_retention(stored)
    outcome = await purge_trash({"redis": stack.arq, "keys": stack.keys})
    assert outcome.get("started") == 1

    async def gone() -> bool:
        return not await Image.exists(uuid=stored.uuid)

    await _until(gone)
    assert _files(stack.pool_dir, stored.uuid) == []
    assert not _in_bucket(stack, stored)
    # The pool's usage as the app counts it gives the bytes back.
    assert await bytes_on(pool) == before - len(stored.data)


async def test_a_purge_queued_while_the_node_is_down_runs_when_it_comes_back(stack: Stack):
    stored = await stack.image()
    assert (await stack.back_up(stored))["state"] == "backed-up"
    worker = next(s for s in stack.services if s.name == "worker")
    worker.stop()
    stack.services.remove(worker)
    try:
        await _delete(stack, stored)
        await _past_retention(stored)
        await purge_trash({"redis": stack.arq, "keys": stack.keys})
        await asyncio.sleep(1)
        # Down: the job waits in the node's queue, nothing is gone yet.
        waiting = await stack.arq.zrange(stack.keys.node_background_queue(NODE), 0, -1)
        assert stack.keys.purge_job(NODE, stored.uuid).encode() in waiting
        assert _files(stack.pool_dir, stored.uuid) == [stored.path]
        assert await Image.exists(uuid=stored.uuid) and _in_bucket(stack, stored)
    finally:
        _start_worker(stack)

    async def gone() -> bool:
        return not await Image.exists(uuid=stored.uuid)

    await _until(gone)
    assert _files(stack.pool_dir, stored.uuid) == []
    assert not _in_bucket(stack, stored)
