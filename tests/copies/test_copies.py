"""Two copies of every image: the replica job, the target's report, reads that fail over."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from pixelfox_app.copies.replicas import fill, record_primary
from pixelfox_app.models import CopyState, Image, ImageCopy
from tests.copies.conftest import damaged_upload, report_processed, wait_for_copies
from tests.moves.conftest import Stack, Stored, sha256

pytestmark = pytest.mark.asyncio(loop_scope="package")


def _files_at(base: str, stored: Stored) -> dict[str, str]:
    return {
        rel: sha256((Path(base) / rel).read_bytes())
        for rel in stored.files
        if (Path(base) / rel).is_file()
    }


def _bytes_of(stored: Stored) -> int:
    return sum(len(data) for data in stored.files.values())


async def test_a_processed_image_reaches_two_verified_copies_in_two_zones(stack: Stack):
    source = await stack.pool("s01")
    await stack.pool("s02")  # every node beats and reports its pools: a replica may go there
    await stack.pool("s03")
    stored = await stack.image(source, variants=3)

    answer = await report_processed(stack, stored)

    assert answer.status_code == 200, answer.text
    copies = await wait_for_copies(stack, stored, 2)
    assert [c.state for c in copies] == [CopyState.VERIFIED, CopyState.VERIFIED]
    primary, replica = copies
    assert primary.pool.id == source.id
    assert replica.pool.node_id == "s03"  # s02 is in s01's zone
    assert primary.bytes == replica.bytes == _bytes_of(stored)
    assert replica.verified_at is not None
    expected = {rel: sha256(data) for rel, data in stored.files.items()}
    assert _files_at(replica.pool.base_path, stored) == expected
    assert _files_at(source.base_path, stored) == expected  # a replica deletes nothing


async def test_reporting_the_variants_again_adds_no_copy(stack: Stack):
    source = await stack.pool("s01")
    stored = await stack.image(source)
    await report_processed(stack, stored)
    await wait_for_copies(stack, stored, 2)

    again = await report_processed(stack, stored)

    assert again.status_code == 200
    await asyncio.sleep(1)
    assert await ImageCopy.filter(image_id=stored.id).count() == 2


async def test_fills_of_one_image_at_once_place_its_replica_once(stack: Stack):
    # A node's report and the control worker's copy check may fill the same image
    # at the same moment; each read one copy, and each would place a replica.
    stored = await stack.image(await stack.pool("s01"))
    image = await Image.get(id=stored.id)
    await record_primary(image)

    await asyncio.gather(*(fill(image, stack.arq, stack.keys) for _ in range(4)))

    assert await ImageCopy.filter(image_id=stored.id).count() == 2
    await wait_for_copies(stack, stored, 2)


async def test_a_damaged_original_is_never_replicated(stack: Stack):
    stored = await damaged_upload(stack)

    image = await Image.get(id=stored.id)
    replicas = await ImageCopy.filter(image_id=stored.id).exclude(pool_id=image.pool_id)
    assert [c.state for c in replicas] == [CopyState.PENDING]
    assert _files_at((await replicas[0].pool).base_path, stored) == {}


async def test_urls_point_at_the_replica_within_15_s_of_the_primary_going_quiet(stack: Stack):
    source = await stack.pool("s01")
    stored = await stack.image(source, variants=2)
    await report_processed(stack, stored)
    await wait_for_copies(stack, stored, 2)
    s01, s03 = stack.nodes["s01"], stack.nodes["s03"]
    assert all(url.startswith(s01.url) for url in stack.urls(stored))

    assert s01.storage is not None
    s01.storage.stop()  # its heartbeat and its downloads stop
    try:
        stopped = time.monotonic()
        while not all(url.startswith(s03.url) for url in stack.urls(stored)):
            assert time.monotonic() - stopped < 15, stack.urls(stored)
            await asyncio.sleep(0.5)
        async with httpx.AsyncClient() as client:
            got = sorted([sha256((await client.get(url)).content) for url in stack.urls(stored)])
            page = await client.get(f"{stack.app_url}/i/{await _short_id(stored)}")
        assert got == sorted(sha256(data) for data in stored.files.values())
        assert page.status_code == 200
        assert s03.url in page.text and s01.url not in page.text
    finally:
        s01.storage.start(f"{s01.url}/healthz", timeout=60)
    await stack.wait_for_pool(source)
    assert all(url.startswith(s01.url) for url in stack.urls(stored))


async def _short_id(stored: Stored) -> str:
    return (await Image.get(id=stored.id)).short_id
