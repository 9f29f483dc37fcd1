"""``PUT /api/internal/replicate`` on a live node: only granted, whole, verified files land."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from pixelfox_protocol import grants
from pixelfox_protocol.internal import REPLICATE_PATH
from pixelfox_protocol.tokens import new_signing_key
from tests.moves.conftest import Stack

pytestmark = pytest.mark.asyncio(loop_scope="package")

DATA = os.urandom(4096)
SHA = hashlib.sha256(DATA).hexdigest()


def _grant(
    pool_id: int, image_uuid: str, original: str, *, node: str = "s02", key: str = "", **kw: Any
) -> str:
    grant = grants.ReplicationGrant(
        node_id=node,
        pool_id=pool_id,
        image_uuid=image_uuid,
        original_path=original,
        original_sha256=kw.pop("sha", SHA),
        max_bytes=kw.pop("max_bytes", 1 << 20),
        **kw,
    )
    return grants.mint(grant, key)


def _put(
    stack: Stack, pool_id: int, path: str, grant: str, body: bytes = DATA, sha256: str = SHA
) -> httpx.Response:
    return httpx.put(
        stack.nodes["s02"].url + REPLICATE_PATH,
        params={"pool_id": pool_id, "path": path, "size": len(body), "sha256": sha256},
        content=body,
        headers={"Authorization": f"Bearer {grant}"} if grant else {},
    )


def _leftovers(base: str) -> list[Path]:
    return [p for p in Path(base).rglob("*") if p.is_file()]


async def test_a_granted_file_is_stored_once_and_a_repeat_is_a_no_op(stack: Stack):
    pool = await stack.pool("s02")
    image_uuid = str(uuid.uuid4())
    path = f"original/2026/01/02/{image_uuid}.jpg"
    grant = _grant(pool.id, image_uuid, path, key=stack.signing_key)

    first = _put(stack, pool.id, path, grant)
    again = _put(stack, pool.id, path, grant)

    assert (first.status_code, first.json()["stored"]) == (201, True)
    assert (again.status_code, again.json()["stored"]) == (200, False)
    assert (Path(pool.base_path) / path).read_bytes() == DATA


async def test_tampered_bytes_are_refused_with_422_and_leave_nothing(stack: Stack):
    pool = await stack.pool("s02")
    image_uuid = str(uuid.uuid4())
    path = f"variants/2026/01/02/{image_uuid}_w320.webp"
    grant = _grant(
        pool.id, image_uuid, f"original/2026/01/02/{image_uuid}.jpg", key=stack.signing_key
    )
    tampered = bytes([DATA[0] ^ 0xFF]) + DATA[1:]

    answer = _put(stack, pool.id, path, grant, body=tampered)

    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "CHECKSUM_MISMATCH"
    assert _leftovers(pool.base_path) == []


async def test_an_original_must_carry_the_hash_the_app_granted(stack: Stack):
    pool = await stack.pool("s02")
    image_uuid = str(uuid.uuid4())
    path = f"original/2026/01/02/{image_uuid}.jpg"
    grant = _grant(pool.id, image_uuid, path, key=stack.signing_key, sha="0" * 64)

    answer = _put(stack, pool.id, path, grant)

    assert (answer.status_code, answer.json()["error"]["code"]) == (422, "CHECKSUM_MISMATCH")
    assert _leftovers(pool.base_path) == []


@pytest.mark.parametrize(
    "path",
    [
        "original/../../../etc/{uuid}.jpg",
        "/etc/{uuid}.jpg",
        "private/../../{uuid}.jpg",
        ".tmp/worker/{uuid}.jpg",
    ],
)
async def test_a_path_outside_the_layout_is_refused(stack: Stack, path: str):
    pool = stack.spare["s02"][0]
    image_uuid = str(uuid.uuid4())
    bad = path.format(uuid=image_uuid)
    grant = _grant(pool.id, image_uuid, bad, key=stack.signing_key)

    answer = _put(stack, pool.id, bad, grant)

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "BAD_REQUEST"


async def test_a_file_of_another_image_or_pool_is_not_covered_by_the_grant(stack: Stack):
    pool, other = await stack.pool("s02"), stack.spare["s02"][0]
    granted, foreign = str(uuid.uuid4()), str(uuid.uuid4())
    grant = _grant(pool.id, granted, f"original/2026/01/02/{granted}.jpg", key=stack.signing_key)

    for pool_id, path in (
        (pool.id, f"variants/2026/01/02/{foreign}_w320.webp"),
        (other.id, f"variants/2026/01/02/{granted}_w320.webp"),
    ):
        answer = _put(stack, pool_id, path, grant)
        assert (answer.status_code, answer.json()["error"]["code"]) == (
            403,
            "REPLICATION_FORBIDDEN",
        )


async def test_a_forged_missing_or_misaddressed_grant_is_refused(stack: Stack):
    pool = stack.spare["s02"][0]
    image_uuid = str(uuid.uuid4())
    path = f"original/2026/01/02/{image_uuid}.jpg"
    forger, _ = new_signing_key()
    cases = {
        "": (401, "REPLICATION_DENIED"),
        _grant(pool.id, image_uuid, path, key=forger): (401, "REPLICATION_DENIED"),
        _grant(pool.id, image_uuid, path, key=stack.signing_key, node="s01"): (
            403,
            "REPLICATION_FORBIDDEN",
        ),
    }
    for grant, expected in cases.items():
        answer = _put(stack, pool.id, path, grant)
        assert (answer.status_code, answer.json()["error"]["code"]) == expected
    assert not (Path(pool.base_path) / path).exists()


async def test_without_a_hash_a_file_is_refused_when_the_operator_requires_one(stack: Stack):
    pool = stack.spare["s02"][0]
    image_uuid = str(uuid.uuid4())
    path = f"variants/2026/01/02/{image_uuid}_w320.webp"
    grant = _grant(
        pool.id, image_uuid, f"original/2026/01/02/{image_uuid}.jpg", key=stack.signing_key
    )

    answer = _put(stack, pool.id, path, grant, sha256="")

    assert (answer.status_code, answer.json()["error"]["code"]) == (422, "CHECKSUM_REQUIRED")
