"""Replicas on the moves tests' stack with three nodes: s01 and s02 in zone ``a``, s03 in ``b``.

The same real processes as ``tests.moves.conftest`` (the app, its control
worker, a storage service and worker per node), one stack for this package.
Every test module here runs in the package's event loop:
``pytestmark = pytest.mark.asyncio(loop_scope="package")``; the module that
declares a node lost (``test_node_lost``) runs last.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from pixelfox_app import knobs
from pixelfox_app.models import CopyState, ImageCopy, ImageVariant, Setting, StorageNode
from pixelfox_protocol.internal import VARIANTS_PATH, node_authorization
from tests.moves.conftest import Stack, Stored, running_stack
from tests.support import PIXELFOX, ROOT

NODES = ("s01", "s02", "s03")
ZONES = {"s01": "a", "s02": "a", "s03": "b"}


@pytest_asyncio.fixture(scope="package", loop_scope="package")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path_factory.mktemp("copies"), NODES) as started:
        for node_id, zone in ZONES.items():
            await StorageNode.filter(node_id=node_id).update(zone=zone)
        yield started


def pixelfox(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    """An operator command on the app host."""
    return subprocess.run(
        [*PIXELFOX, *args],
        env={**os.environ, **stack.app_env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


DEFAULT_REPAIRS = knobs.KNOBS["repair_jobs_per_node"].default


async def repair_jobs_per_node(value: int) -> None:
    """Set the repair throttle in single statements: a read-then-write transaction on
    SQLite can meet another process's and fail at once ("database is locked")."""
    if not await Setting.filter(key="repair_jobs_per_node").update(value=value):
        await Setting.create(key="repair_jobs_per_node", value=value)


async def report_processed(stack: Stack, stored: Stored, node_id: str = "s01") -> httpx.Response:
    """Tell the app, as the node's worker does, that the image's variants are ready."""
    variants = [
        {
            "kind": v.kind,
            "format": v.format,
            "path": v.path,
            "size": v.size,
            "width": v.width,
            "height": v.height,
        }
        for v in await ImageVariant.filter(image_id=stored.id)
    ]
    node = stack.nodes[node_id]
    async with httpx.AsyncClient() as client:
        return await client.post(
            stack.app_url + VARIANTS_PATH.format(image_uuid=stored.uuid),
            json={"state": "ready", "variants": variants},
            headers={"Authorization": node_authorization(node_id, node.credential)},
        )


async def damaged_upload(stack: Stack) -> Stored:
    """An image on s01 whose original lost a byte after its upload, reported processed;
    returned once s01's replica job refused to push it."""
    source = await stack.pool("s01")
    stored = await stack.image(source)
    original = Path(source.base_path) / stored.path
    original.write_bytes(original.read_bytes()[:-1] + b"\0")
    await report_processed(stack, stored)
    worker = stack.nodes["s01"].worker
    assert worker is not None
    await stack.wait_for_log(worker, 1, "copy not pushed", stored.uuid)
    return stored


async def wait_for_copies(
    stack: Stack, stored: Stored, count: int, within: float = 60
) -> list[ImageCopy]:
    """Until the image has ``count`` verified copies (pools loaded)."""
    deadline = time.monotonic() + within
    while True:
        copies = await ImageCopy.filter(image_id=stored.id).select_related("pool").order_by("id")
        if sum(c.state == CopyState.VERIFIED for c in copies) >= count:
            return list(copies)
        if time.monotonic() > deadline:
            states = [(c.pool.name, str(c.state)) for c in copies]
            raise AssertionError(f"copies of {stored.uuid}: {states}\n{stack.logs()}")
        await asyncio.sleep(0.1)
