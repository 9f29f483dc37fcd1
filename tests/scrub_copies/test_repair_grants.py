"""A repair reads only what its pool is meant to hold: the app's plan and the peer's checks."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import httpx
import pytest

from pixelfox_app.models import CopyState, Image, ImageCopy
from pixelfox_protocol import grants
from pixelfox_protocol.internal import (
    COPY_FILE_PATH,
    POOL_FILES_PATH,
    REPAIR_PATH,
    REPLICATE_PATH,
    PoolFilesPage,
    RepairPlan,
    node_authorization,
)
from pixelfox_protocol.tokens import new_signing_key
from tests.moves.conftest import Stack
from tests.scrub_copies.conftest import Copied, copied_image

pytestmark = pytest.mark.asyncio(loop_scope="package")


async def _ask(
    stack: Stack, node_id: str, image_uuid: str, pool_id: int, *paths: str
) -> httpx.Response:
    node = stack.nodes[node_id]
    async with httpx.AsyncClient() as client:
        return await client.post(
            stack.app_url + REPAIR_PATH.format(image_uuid=image_uuid),
            json={"pool_id": pool_id, "paths": list(paths)},
            headers={"Authorization": node_authorization(node_id, node.credential)},
        )


async def _read(plan_peer_url: str, grant: str, pool_id: int, path: str) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(
            plan_peer_url,
            params={"pool_id": pool_id, "path": path},
            headers={"Authorization": f"Bearer {grant}"},
        )


def _code(answer: httpx.Response) -> tuple[int, str]:
    return answer.status_code, answer.json()["error"]["code"]


async def _two(stack: Stack) -> tuple[Copied, Copied]:
    primary = await stack.pool("s01")
    await stack.pool("s02")
    return await copied_image(stack, primary), await copied_image(stack, primary)


async def test_the_plan_names_the_other_nodes_copy_with_a_grant_for_exactly_those_files(
    stack: Stack,
) -> None:
    copied, other = await _two(stack)
    variant = copied.variants[0]

    answer = await _ask(stack, "s01", copied.uuid, copied.primary.id, variant.path)

    assert answer.status_code == 200, answer.text
    plan = RepairPlan.model_validate(answer.json())
    assert plan.primary and [f.path for f in plan.files] == [variant.path]
    assert plan.files[0].sha256 == variant.sha256
    (peer,) = plan.peers
    assert (peer.node_id, peer.pool_id) == ("s02", copied.replica.id)
    assert peer.copy_file_url == stack.nodes["s02"].url + COPY_FILE_PATH
    served = await _read(peer.copy_file_url, peer.grant, peer.pool_id, variant.path)
    assert served.status_code == 200 and served.content == copied.files[variant.path]

    # Not another file of the image, nor of another image there, nor on another pool.
    for pool_id, path in [
        (peer.pool_id, copied.original),
        (peer.pool_id, other.original),
        (copied.primary.id, variant.path),
    ]:
        refused = await _read(peer.copy_file_url, peer.grant, pool_id, path)
        assert _code(refused) == (403, "REPLICATION_FORBIDDEN"), (pool_id, path)


async def test_a_pool_without_a_copy_and_files_not_of_the_image_get_no_plan(
    stack: Stack,
) -> None:
    copied, other = await _two(stack)
    empty = await stack.pool("s02")  # a pool of s02 that holds no copy of the image

    assert _code(await _ask(stack, "s02", copied.uuid, empty.id, copied.original)) == (
        403,
        "COPY_NOT_ON_POOL",
    )
    assert _code(await _ask(stack, "s02", copied.uuid, copied.primary.id)) == (
        403,
        "POOL_NOT_ON_NODE",
    )
    assert _code(await _ask(stack, "s02", copied.uuid, copied.replica.id, other.original)) == (
        422,
        "MOVE_FILE_UNKNOWN",
    )
    assert _code(await _ask(stack, "s02", copied.uuid, copied.replica.id, "../etc/passwd")) == (
        422,
        "MOVE_FILE_UNKNOWN",
    )
    await Image.filter(id=copied.id).update(deleted_at=datetime.now(UTC), deleted_by="owner")
    assert _code(await _ask(stack, "s02", copied.uuid, copied.replica.id)) == (404, "NOT_FOUND")


async def test_the_peer_reads_only_to_a_read_grant_and_a_read_grant_writes_nothing(
    stack: Stack,
) -> None:
    copied, _ = await _two(stack)
    s02 = stack.nodes["s02"].url
    original = copied.original
    data = copied.files[original]
    file = grants.GrantedFile(original, len(data), hashlib.sha256(data).hexdigest())

    def grant(key: str, *, reads: bool, node_id: str = "s02") -> str:
        made = grants.ReplicationGrant(
            node_id=node_id,
            pool_id=copied.replica.id,
            image_uuid=copied.uuid,
            move_id=0,
            files=(file,),
            reads=reads,
        )
        return grants.mint(made, key)

    url = s02 + COPY_FILE_PATH
    assert (
        await _read(url, grant(stack.signing_key, reads=True), copied.replica.id, original)
    ).content == data
    for token, expected in [
        ("not-a-grant", (401, "REPLICATION_DENIED")),
        (grant(new_signing_key()[0], reads=True), (401, "REPLICATION_DENIED")),
        (grant(stack.signing_key, reads=False), (403, "REPLICATION_FORBIDDEN")),
        (grant(stack.signing_key, reads=True, node_id="s01"), (403, "REPLICATION_FORBIDDEN")),
    ]:
        refused = await _read(url, token, copied.replica.id, original)
        assert _code(refused) == expected

    async with httpx.AsyncClient() as client:
        pushed = await client.put(
            s02 + REPLICATE_PATH,
            params={"pool_id": copied.replica.id, "path": original, "size": len(data)},
            content=data,
            headers={"Authorization": f"Bearer {grant(stack.signing_key, reads=True)}"},
        )
    assert _code(pushed) == (403, "REPLICATION_FORBIDDEN")


async def test_a_pools_listing_holds_its_verified_replicas_not_its_pending_ones(
    stack: Stack,
) -> None:
    copied, pending = await _two(stack)
    await ImageCopy.filter(image_id=pending.id, pool_id=pending.replica.id).update(
        state=CopyState.PENDING
    )
    node = stack.nodes["s02"]
    async with httpx.AsyncClient() as client:
        answer = await client.get(
            stack.app_url + POOL_FILES_PATH.format(pool_id=copied.replica.id),
            headers={"Authorization": node_authorization("s02", node.credential)},
        )

    page = PoolFilesPage.model_validate(answer.json())
    listed = {item.image_uuid: item for item in page.items}
    assert copied.uuid in listed and pending.uuid not in listed
    item = listed[copied.uuid]
    assert [item.original.path, *(v.path for v in item.variants)] == list(copied.files)
