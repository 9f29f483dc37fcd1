"""Every copy follows its image: a delete, a restore and a visibility change reach the replica."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from pixelfox_app.models import CopyState, Image, ImageCopy
from pixelfox_protocol import layout
from pixelfox_protocol.internal import COPY_GRANT_PATH, REPLICATE_PATH, node_authorization
from tests.copies.conftest import report_processed, wait_for_copies
from tests.moves.conftest import Stack, Stored, sha256

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


async def test_a_delete_while_the_replicas_node_is_down_reaches_it_when_it_returns(
    stack: Stack,
):
    primary = await stack.pool("s01")
    stored = await stack.image(primary, variants=2)
    await report_processed(stack, stored)
    copies = await wait_for_copies(stack, stored, 2)
    replica = next(c.pool for c in copies if c.pool.id != primary.id)
    stack.stop_worker(replica.node_id)
    try:
        async with httpx.AsyncClient(headers=stack.admin) as client:
            deleted = await client.delete(f"{stack.app_url}/api/v1/images/{stored.uuid}")
        assert deleted.status_code == 204, deleted.text
        await _until(
            lambda: not _live(Path(primary.base_path), stored), "the primary still serves it"
        )
        # Its node is down: the replica's files are where they were, its job waits in Redis.
        assert sorted(_live(Path(replica.base_path), stored)) == sorted(stored.files)
    finally:
        stack.start_worker(replica.node_id)
    await _until(
        lambda: not _live(Path(replica.base_path), stored),
        "the returning node never trashed its copy",
    )
    assert all((Path(replica.base_path) / ".trash" / rel).is_file() for rel in stored.files)


async def _queues_drained(stack: Stack, within: float = 60) -> None:
    """Until no node has a job waiting (then a moment for the one each may be running)."""
    queues = [q for n in stack.nodes for q in (stack.keys.node_queue(n),
              stack.keys.node_background_queue(n))]  # fmt: skip
    deadline = time.monotonic() + within
    while any([await stack.arq.zcard(q) for q in queues]):
        assert time.monotonic() < deadline, "node queues never drained"
        await asyncio.sleep(0.2)
    await asyncio.sleep(2)


async def test_deletes_racing_replica_pushes_leave_no_copy_served(stack: Stack):
    source = await stack.pool("s01")
    pools = [await stack.pool(n) for n in stack.nodes]
    # One whose push and delete wait in s01's queues together (whichever the worker
    # takes first, the other meets its outcome), and some deleted a little later
    # each while s01 pushes: mid-push, or just after the target reported.
    held = await stack.image(source, variants=2)
    racing = [await stack.image(source, variants=2) for _ in range(6)]
    stack.stop_worker("s01")
    try:
        await report_processed(stack, held)
        async with httpx.AsyncClient(headers=stack.admin) as client:
            answer = await client.delete(f"{stack.app_url}/api/v1/images/{held.uuid}")
            assert answer.status_code == 204, answer.text
    finally:
        stack.start_worker("s01")
    async with httpx.AsyncClient(headers=stack.admin) as client:
        for n, stored in enumerate(racing):
            await report_processed(stack, stored)
            await asyncio.sleep(0.05 * n)
            answer = await client.delete(f"{stack.app_url}/api/v1/images/{stored.uuid}")
            assert answer.status_code == 204, answer.text

    def served() -> list[str]:
        return [
            f"{p.name}:{rel}"
            for stored in (held, *racing)
            for p in pools
            for rel in _live(Path(p.base_path), stored)
        ]

    await _until(lambda: not served(), "files of deleted images are still served", within=60)
    # ...and none comes back once every queued push and report has run.
    await _queues_drained(stack)
    assert served() == []


async def test_a_push_granted_before_a_change_to_private_leaves_no_public_file_on_the_replica(
    stack: Stack,
):
    # The race, step by step: s01 (the source) is granted the copy's public files,
    # the image becomes private (the replica's pool had nothing to move yet), and
    # only then does the push land. s01 runs its fresh lane only, so its own replica
    # job waits on the background lane while this test pushes as s01 would.
    source = await stack.pool("s01")
    stored = await stack.image(source, variants=2)
    stack.stop_worker("s01")
    stack.start_worker("s01", lane="fresh")
    try:
        await report_processed(stack, stored)
        copy = await ImageCopy.get(image_id=stored.id, state=CopyState.PENDING).select_related(
            "pool"
        )
        target = copy.pool
        files = [
            {"path": rel, "size": len(data), "sha256": sha256(data)}
            for rel, data in stored.files.items()
        ]
        as_s01 = {"Authorization": node_authorization("s01", stack.nodes["s01"].credential)}
        async with httpx.AsyncClient(headers=as_s01) as node:
            granted = await node.post(
                stack.app_url + COPY_GRANT_PATH.format(copy_id=copy.id), json={"files": files}
            )
        assert granted.status_code == 200, granted.text
        async with httpx.AsyncClient(headers=stack.admin) as client:
            answer = await client.post(
                f"{stack.app_url}/api/v1/images/{stored.uuid}/visibility",
                json={"visibility": "private"},
            )
        assert answer.status_code == 200, answer.text
        deadline = time.monotonic() + 30
        while (await Image.get(id=stored.id)).visibility != "private":
            assert time.monotonic() < deadline, "the primary's report never switched the image"
            await asyncio.sleep(0.2)

        async with httpx.AsyncClient(
            headers={"Authorization": f"Bearer {granted.json()['grant']}"}
        ) as pusher:
            for rel, data in stored.files.items():
                query = {"pool_id": target.id, "path": rel, "size": len(data),
                         "sha256": sha256(data)}  # fmt: skip
                put = await pusher.put(
                    stack.nodes[target.node_id].url + REPLICATE_PATH, params=query, content=data
                )
                assert put.status_code == 201, put.text

        await _until(
            lambda: not _live(Path(target.base_path), stored),
            "the replica serves public files of a private image",
        )
    finally:
        stack.stop_worker("s01")
        stack.start_worker("s01")
    # s01's own replica job, waiting until now, finds the files at the private paths.
    copies = await wait_for_copies(stack, stored, 2)
    assert {c.pool.id for c in copies} == {source.id, target.id}  # type: ignore[attr-defined]
    assert sorted(_live(Path(target.base_path), stored, private=True)) == sorted(
        layout.in_subtree(rel, True) for rel in stored.files
    )
