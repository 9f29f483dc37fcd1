"""Every copy follows its image: a delete, a restore and a visibility change reach the replica."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from pixelfox_app.models import CopyState, Image, ImageCopy
from pixelfox_protocol import layout
from tests.copies.conftest import report_processed, wait_for_copies
from tests.moves.conftest import Stack, Stored

pytestmark = pytest.mark.asyncio(loop_scope="package")


async def _replica_base(stack: Stack, stored: Stored) -> Path:
    copies = await wait_for_copies(stack, stored, 2)
    assert [c.state for c in copies] == [CopyState.VERIFIED, CopyState.VERIFIED]
    image = await Image.get(id=stored.id)
    replica = next(c for c in copies if c.pool.id != image.pool_id)  # type: ignore[attr-defined]
    return Path(replica.pool.base_path)


async def _until(check: object, what: str, within: float = 20) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.2)
    raise AssertionError(what)


def _live(base: Path, stored: Stored, *, private: bool = False) -> list[str]:
    """The image's files on the pool at their served paths (public or private subtree)."""
    paths = [layout.in_subtree(rel, private) for rel in stored.files]
    return [rel for rel in paths if (base / rel).is_file()]


async def test_a_delete_and_a_restore_reach_the_replica_too(stack: Stack):
    stored = await stack.image(await stack.pool("s01"), variants=2)
    await report_processed(stack, stored)
    replica = await _replica_base(stack, stored)
    assert sorted(_live(replica, stored)) == sorted(stored.files)
    url = f"{stack.app_url}/api/v1/images/{stored.uuid}"

    async with httpx.AsyncClient(headers=stack.admin) as client:
        deleted = await client.delete(url)

    assert deleted.status_code == 204, deleted.text
    await _until(lambda: not _live(replica, stored), f"the replica still serves {stored.uuid}")
    assert all((replica / ".trash" / rel).is_file() for rel in stored.files)

    async with httpx.AsyncClient(headers=stack.admin) as client:
        restored = await client.post(f"{url}/restore")

    assert restored.status_code == 200, restored.text
    await _until(
        lambda: sorted(_live(replica, stored)) == sorted(stored.files),
        "the replica's files did not come back",
    )


async def test_a_visibility_change_moves_the_replicas_files_into_the_private_subtree(
    stack: Stack,
):
    stored = await stack.image(await stack.pool("s01"), variants=2)
    await report_processed(stack, stored)
    replica = await _replica_base(stack, stored)

    async with httpx.AsyncClient(headers=stack.admin) as client:
        answer = await client.post(
            f"{stack.app_url}/api/v1/images/{stored.uuid}/visibility",
            json={"visibility": "private"},
        )

    assert answer.status_code == 200, answer.text
    await _until(
        lambda: not _live(replica, stored), "the replica still has public files of a private image"
    )
    assert sorted(_live(replica, stored, private=True)) == sorted(
        layout.in_subtree(rel, True) for rel in stored.files
    )
    deadline = time.monotonic() + 20
    while (image := await Image.get(id=stored.id)).visibility != "private":
        assert time.monotonic() < deadline, "the primary's report never switched the image"
        await asyncio.sleep(0.2)
    assert image.path == layout.in_subtree(stored.path, True)
    # The replica's report was acknowledged, not refused: both copies stay verified.
    copies = await ImageCopy.filter(image_id=stored.id)
    assert [c.state for c in copies] == [CopyState.VERIFIED, CopyState.VERIFIED]
