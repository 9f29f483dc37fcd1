"""The app's grants for a move job: only a running move, its own images, their own files.

And a job that runs on a node that no longer holds the source pool is handed
over by the app (the node never writes into another node's queue); no image is
switched onto a pool whose copy of it is being removed.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
import pytest_asyncio

from pixelfox_app.models import CopyState, Image, ImageCopy, ImageVariant
from pixelfox_protocol import jobs
from pixelfox_protocol.internal import (
    MOVE_GRANT_PATH,
    MOVE_IMAGE_PATH,
    MOVE_OUTCOME_PATH,
    MOVE_SWITCH_PATH,
    node_authorization,
)
from tests.moves.conftest import Stack, Stored

pytestmark = pytest.mark.asyncio(loop_scope="package")


def _as_node(stack: Stack, node_id: str) -> dict[str, str]:
    return {"Authorization": node_authorization(node_id, stack.nodes[node_id].credential)}


def _files(stored: Stored) -> list[dict[str, Any]]:
    return [
        {"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        for path, data in stored.files.items()
    ]


def _ask(
    stack: Stack,
    move_id: int,
    image_id: int,
    files: list[dict[str, Any]],
    node_id: str = "s01",
) -> httpx.Response:
    return httpx.post(
        stack.app_url + MOVE_GRANT_PATH.format(move_id=move_id, image_id=image_id),
        json={"files": files},
        headers=_as_node(stack, node_id),
    )


def _call(stack: Stack, method: str, path: str, node_id: str, body: Any = None) -> httpx.Response:
    headers = _as_node(stack, node_id)
    return httpx.request(method, stack.app_url + path, json=body, headers=headers)


def _code(answer: httpx.Response) -> tuple[int, str]:
    return answer.status_code, answer.json()["error"]["code"]


class Held:
    """A running move from an s01 pool to an s02 pool whose jobs wait (s01's worker stopped)."""

    def __init__(self, stack: Stack, move_id: int, images: list[Stored]) -> None:
        self.stack, self.move_id, self.images = stack, move_id, images


@pytest_asyncio.fixture(loop_scope="package")
async def held(stack: Stack) -> AsyncIterator[Held]:
    source, target = await stack.pool("s01"), await stack.pool("s02")
    images = [await stack.image(source), await stack.image(source)]
    stack.stop_worker("s01")
    try:
        move_id = stack.start_move(source, target)["id"]
        await stack.wait_for(move_id, planned_at_least=len(images))
        yield Held(stack, move_id, images)
        if stack.move(move_id)["state"] in ("running", "paused"):
            stack.act(move_id, "cancel")
    finally:
        stack.start_worker("s01")


async def test_the_grant_lists_exactly_the_files_asked_for_with_a_byte_cap(held: Held):
    stored = held.images[0]

    answer = _ask(held.stack, held.move_id, stored.id, _files(stored))

    assert answer.status_code == 200, answer.text
    claims = jwt.decode(answer.json()["grant"], options={"verify_signature": False})
    assert claims["aud"] == "replicate:s02"
    assert claims["mv"] == held.move_id and claims["img"] == stored.uuid
    assert sorted(p for p, _, _ in claims["f"]) == sorted(stored.files)
    assert claims["max"] == answer.json()["max_bytes"] == sum(len(d) for d in stored.files.values())
    assert claims["jti"]


async def test_no_grant_unless_the_move_is_running(held: Held):
    stored = held.images[0]
    held.stack.act(held.move_id, "pause")

    paused = _ask(held.stack, held.move_id, stored.id, _files(stored))
    held.stack.act(held.move_id, "cancel")
    cancelled = _ask(held.stack, held.move_id, stored.id, _files(stored))

    assert _code(paused) == (409, "MOVE_NOT_RUNNING")
    assert _code(cancelled) == (409, "MOVE_NOT_RUNNING")


async def test_no_grant_for_an_image_that_is_not_an_item_of_the_move(held: Held):
    stack = held.stack
    elsewhere = await stack.image(await stack.pool("s01"))

    answer = _ask(stack, held.move_id, elsewhere.id, _files(elsewhere))

    assert _code(answer) == (409, "MOVE_ITEM_UNKNOWN")


async def test_no_grant_for_a_node_that_does_not_hold_the_source_pool(held: Held):
    stored = held.images[0]

    answer = _ask(held.stack, held.move_id, stored.id, _files(stored), node_id="s02")

    assert _code(answer) == (403, "POOL_NOT_ON_NODE")
    assert answer.json()["error"]["details"]["node_id"] == "s01"


async def test_no_grant_for_files_that_are_not_the_images_own(held: Held):
    stored, other = held.images
    own = _files(stored)
    original = own[0]
    day_folder = original["path"].replace("original/", "variants/").rsplit("/", 1)[0]
    html = {**own[1], "path": f"{day_folder}/{stored.uuid}.html"}
    other_variant = _files(other)[1]
    traversal = {**own[1], "path": f"{day_folder}/../../../../{stored.uuid}_w16.webp"}

    inflated = [own[0], {**own[1], "size": 1 << 30}, *own[2:]]  # a bigger cap, same path

    for files in ([*own, html], [*own, other_variant], [*own, traversal], own[1:], inflated):
        answer = _ask(held.stack, held.move_id, stored.id, files)
        assert _code(answer) == (422, "MOVE_FILE_UNKNOWN"), files


async def test_no_grant_for_an_original_whose_hash_is_not_the_uploads(held: Held):
    stored = held.images[0]
    files = _files(stored)
    files[0] = {**files[0], "sha256": "0" * 64}

    answer = _ask(held.stack, held.move_id, stored.id, files)

    assert _code(answer) == (422, "CHECKSUM_MISMATCH")


async def test_the_ticket_carries_no_grant(held: Held):
    stored = held.images[0]
    path = MOVE_IMAGE_PATH.format(move_id=held.move_id, image_id=stored.id)

    answer = _call(held.stack, "GET", path, "s01")

    assert answer.status_code == 200, answer.text
    assert "grant" not in answer.json()


async def test_a_job_on_a_node_without_the_source_pool_is_handed_over_by_the_app(held: Held):
    """s02 runs a job of s01's pool (as after the pool moved): the app queues it on s01."""
    stack, stored = held.stack, held.images[0]
    keys = stack.keys
    args = jobs.MoveImage(move_id=held.move_id, image_id=stored.id, source_pool_id=0, request_id="")
    stray = f"{keys.move_job('s02', held.move_id, stored.id)}@stray"
    await stack.arq.enqueue_job(
        jobs.MOVE_IMAGE,
        _job_id=stray,
        _queue_name=keys.node_background_queue("s02"),
        **args.to_json(),
    )
    handover = keys.move_handover_job(held.move_id, stored.id, "s01")
    deadline = time.monotonic() + 60
    while await stack.arq.zscore(keys.node_background_queue("s01"), handover) is None:
        assert time.monotonic() < deadline, stack.logs()
        await asyncio.sleep(0.1)
    storage = stack.nodes["s02"].worker
    assert storage is not None
    await stack.wait_for_log(storage, 1, "the app hands the job over")

    stack.start_worker("s01")
    move = await stack.wait_for(held.move_id)
    stack.stop_worker("s01")  # the fixture starts it again

    assert (move["state"], move["done"]) == ("done", 2)


async def test_a_hand_over_report_for_an_image_outside_the_move_queues_nothing(held: Held):
    stack = held.stack
    elsewhere = await stack.image(await stack.pool("s01"))
    path = MOVE_OUTCOME_PATH.format(move_id=held.move_id, image_id=elsewhere.id)

    answer = _call(stack, "POST", path, "s02", {"state": "wrong-node", "error": "lies"})

    assert answer.status_code == 200, answer.text
    handover = stack.keys.move_handover_job(held.move_id, elsewhere.id, "s01")
    assert await stack.arq.zscore(stack.keys.node_background_queue("s01"), handover) is None


async def test_no_switch_onto_a_target_whose_copy_of_the_image_is_being_removed(held: Held):
    stored = held.images[1]
    target_id = held.stack.move(held.move_id)["target_id"]
    await ImageCopy.create(image_id=stored.id, pool_id=target_id, state=CopyState.REMOVING)
    body = {"original_sha256": stored.sha256, "bytes": sum(map(len, stored.files.values()))}
    path = MOVE_SWITCH_PATH.format(move_id=held.move_id, image_id=stored.id)

    answer = _call(held.stack, "POST", path, "s01", body)

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"switched": False, "where": "source"}
    image = await Image.get(id=stored.id)
    assert image.pool_id != target_id  # type: ignore[attr-defined]
    assert await ImageVariant.filter(image_id=stored.id, pool_id=target_id).count() == 0
    shown = held.stack.move(held.move_id)
    assert shown["done"] == 0 and shown["failed"] == 1
    assert "being removed" in next(i["error"] for i in shown["items"] if i["image_id"] == stored.id)
