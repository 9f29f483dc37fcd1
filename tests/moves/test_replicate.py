"""``PUT /api/internal/replicate`` on a live node: only granted, whole, verified files land once."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from pixelfox_protocol import grants
from pixelfox_protocol.errors import APIError
from pixelfox_protocol.internal import REPLICATE_PATH
from pixelfox_protocol.keys import TOKEN_ISSUER
from pixelfox_protocol.tokens import ALGORITHM, new_signing_key, parse_private_key
from tests.moves.conftest import Stack

pytestmark = pytest.mark.asyncio(loop_scope="package")

DATA = os.urandom(4096)
SHA = hashlib.sha256(DATA).hexdigest()
VARIANT = os.urandom(700)
VARIANT_SHA = hashlib.sha256(VARIANT).hexdigest()
DAY = "2026/01/02"


def _paths(image_uuid: str) -> tuple[str, str]:
    return f"original/{DAY}/{image_uuid}.jpg", f"variants/{DAY}/{image_uuid}_w320.webp"


def _grant(pool_id: int, image_uuid: str, *, node: str = "s02", key: str = "", **kw: Any) -> str:
    """A grant for the image's original (DATA) and one variant (VARIANT)."""
    original, variant = _paths(image_uuid)
    files = kw.pop(
        "files",
        (
            grants.GrantedFile(original, len(DATA), SHA),
            grants.GrantedFile(variant, len(VARIANT), VARIANT_SHA),
        ),
    )
    grant = grants.ReplicationGrant(
        node_id=node, pool_id=pool_id, image_uuid=image_uuid, move_id=7, files=files, **kw
    )
    return grants.mint(grant, key)


def _put(
    stack: Stack,
    pool_id: int,
    path: str,
    grant: str,
    body: bytes = DATA,
    sha256: str = SHA,
    **kw: Any,
) -> httpx.Response:
    size = kw.pop("size", len(body))
    return httpx.put(
        stack.nodes["s02"].url + REPLICATE_PATH,
        params={"pool_id": pool_id, "path": path, "size": size, "sha256": sha256},
        content=kw.pop("content", body),
        headers={"Authorization": f"Bearer {grant}"} if grant else {},
    )


def _code(answer: httpx.Response) -> tuple[int, str]:
    return answer.status_code, answer.json()["error"]["code"]


def _leftovers(base: str) -> list[Path]:
    return [p for p in Path(base).rglob("*") if p.is_file()]


async def test_a_granted_file_is_stored_once_and_a_second_use_is_refused(stack: Stack):
    pool = await stack.pool("s02")
    image_uuid = str(uuid.uuid4())
    original, _ = _paths(image_uuid)
    grant = _grant(pool.id, image_uuid, key=stack.signing_key)

    first = _put(stack, pool.id, original, grant)
    again = _put(stack, pool.id, original, grant)
    # A retried job comes with a fresh grant: the very file there is a no-op 200.
    fresh = _put(stack, pool.id, original, _grant(pool.id, image_uuid, key=stack.signing_key))

    assert (first.status_code, first.json()["stored"]) == (201, True)
    assert _code(again) == (409, "REPLICATION_USED")
    assert (fresh.status_code, fresh.json()["stored"]) == (200, False)
    assert (Path(pool.base_path) / original).read_bytes() == DATA
    # The ledger lives under the target node's own keys.
    jti = jwt.decode(grant, options={"verify_signature": False})["jti"]
    ledger = stack.keys.node_grant_ledger("s02", jti)
    assert await stack.arq.hget(ledger, original) == SHA.encode()
    assert 0 < await stack.arq.ttl(ledger) <= grants.GRANT_SECONDS + 120


async def test_tampered_bytes_are_refused_with_422_and_leave_nothing(stack: Stack):
    pool = await stack.pool("s02")
    image_uuid = str(uuid.uuid4())
    _, variant = _paths(image_uuid)
    grant = _grant(pool.id, image_uuid, key=stack.signing_key)
    tampered = bytes([VARIANT[0] ^ 0xFF]) + VARIANT[1:]

    answer = _put(stack, pool.id, variant, grant, body=tampered, sha256="")

    assert _code(answer) == (422, "CHECKSUM_MISMATCH")
    assert _leftovers(pool.base_path) == []


async def test_a_hash_or_size_other_than_the_granted_one_is_refused(stack: Stack):
    pool = stack.spare["s02"][0]
    image_uuid = str(uuid.uuid4())
    original, _ = _paths(image_uuid)
    grant = _grant(pool.id, image_uuid, key=stack.signing_key)
    other = os.urandom(len(DATA))

    wrong_sha = _put(stack, pool.id, original, grant, body=other, sha256=sha_of(other))
    longer = _put(stack, pool.id, original, grant, body=DATA + b"x")

    assert _code(wrong_sha) == (422, "CHECKSUM_MISMATCH")
    assert _code(longer) == (403, "REPLICATION_FORBIDDEN")
    assert not (Path(pool.base_path) / original).exists()


async def test_a_body_longer_than_granted_is_cut_off_and_leaves_nothing(stack: Stack):
    pool = await stack.pool("s02")
    image_uuid = str(uuid.uuid4())
    original, _ = _paths(image_uuid)
    grant = _grant(pool.id, image_uuid, key=stack.signing_key)

    def chunked() -> Iterator[bytes]:  # no Content-Length: counted as it comes
        yield DATA
        yield os.urandom(1 << 20)

    answer = _put(stack, pool.id, original, grant, content=chunked(), size=len(DATA))

    assert _code(answer) == (413, "FILE_TOO_LARGE")
    assert _leftovers(pool.base_path) == []


async def test_writes_past_the_grants_byte_cap_are_refused(stack: Stack):
    pool = await stack.pool("s02")
    image_uuid = str(uuid.uuid4())
    original, variant = _paths(image_uuid)
    grant = _grant(pool.id, image_uuid, key=stack.signing_key, cap=len(DATA))

    first = _put(stack, pool.id, original, grant)
    second = _put(stack, pool.id, variant, grant, body=VARIANT, sha256=VARIANT_SHA)

    assert first.status_code == 201
    assert _code(second) == (413, "REPLICATION_OVER_CAP")
    assert not (Path(pool.base_path) / variant).exists()


async def test_an_existing_file_is_never_overwritten_with_other_content(stack: Stack):
    pool = await stack.pool("s02")
    image_uuid = str(uuid.uuid4())
    original, variant = _paths(image_uuid)
    for path, data in ((original, b"someone else's bytes"), (variant, VARIANT)):
        (Path(pool.base_path) / path).parent.mkdir(parents=True, exist_ok=True)
        (Path(pool.base_path) / path).write_bytes(data)
    grant = _grant(pool.id, image_uuid, key=stack.signing_key)

    differs = _put(stack, pool.id, original, grant)
    same = _put(stack, pool.id, variant, grant, body=VARIANT, sha256=VARIANT_SHA)

    assert _code(differs) == (409, "REPLICATION_EXISTS")
    assert (Path(pool.base_path) / original).read_bytes() == b"someone else's bytes"
    assert (same.status_code, same.json()["stored"]) == (200, False)


@pytest.mark.parametrize(
    "path",
    [
        "original/../../../etc/{uuid}.jpg",
        "/etc/{uuid}.jpg",
        "private/../../{uuid}.jpg",
        ".tmp/worker/{uuid}.jpg",
        "variants/2026/01/02/../../../../{uuid}_w320.webp",
        "variants/2026/01/02/{uuid}.html",  # served as text/html: stored XSS
        "variants/2026/01/02/{uuid}_w320.html",
    ],
)
async def test_a_path_outside_the_layout_is_refused(stack: Stack, path: str):
    pool = stack.spare["s02"][0]
    image_uuid = str(uuid.uuid4())
    grant = _grant(pool.id, image_uuid, key=stack.signing_key)

    answer = _put(stack, pool.id, path.format(uuid=image_uuid), grant)

    assert _code(answer) == (400, "BAD_REQUEST")


async def test_a_grant_for_one_image_cannot_write_another_images_or_other_files(stack: Stack):
    pool, other = await stack.pool("s02"), stack.spare["s02"][0]
    granted, foreign = str(uuid.uuid4()), str(uuid.uuid4())
    grant = _grant(pool.id, granted, key=stack.signing_key)

    for pool_id, path in (
        (pool.id, _paths(foreign)[0]),  # image B's original
        (pool.id, _paths(foreign)[1]),  # image B's variant
        (other.id, _paths(granted)[0]),  # the right file, another pool
        (pool.id, f"variants/{DAY}/{granted}_w640.webp"),  # a variant the grant does not list
        (pool.id, f"variants/2027/01/02/{granted}_w320.webp"),  # another date folder
    ):
        answer = _put(stack, pool_id, path, grant)
        assert _code(answer) == (403, "REPLICATION_FORBIDDEN"), path
    assert _leftovers(pool.base_path) == [] and _leftovers(other.base_path) == []


def _signed(payload: dict[str, Any], key: str) -> str:
    kid, private = parse_private_key(key)
    return jwt.encode(payload, private, algorithm=ALGORITHM, headers={"kid": kid})


async def test_a_grant_listing_a_non_layout_file_is_refused_even_when_signed(stack: Stack):
    """The app never mints it (mint refuses); the target checks the list all the same."""
    pool = stack.spare["s02"][0]
    image_uuid = str(uuid.uuid4())
    original, _ = _paths(image_uuid)
    html = f"variants/{DAY}/{image_uuid}_w320.html"
    with pytest.raises(APIError):
        grants.mint(
            grants.ReplicationGrant(
                node_id="s02",
                pool_id=pool.id,
                image_uuid=image_uuid,
                move_id=1,
                files=(
                    grants.GrantedFile(original, len(DATA), SHA),
                    grants.GrantedFile(html, len(DATA), SHA),
                ),
            ),
            stack.signing_key,
        )
    now = int(time.time())
    payload = {
        "iss": TOKEN_ISSUER,
        "aud": grants.grant_audience("s02"),
        "pool_id": pool.id,
        "mv": 1,
        "img": image_uuid,
        "f": [[original, len(DATA), SHA], [html, len(DATA), SHA]],
        "max": 2 * len(DATA),
        "jti": uuid.uuid4().hex,
        "iat": now,
        "nbf": now,
        "exp": now + 60,
    }

    answer = _put(stack, pool.id, html, _signed(payload, stack.signing_key))

    assert _code(answer) == (403, "REPLICATION_FORBIDDEN")
    assert not (Path(pool.base_path) / html).exists()


async def test_a_forged_missing_or_misaddressed_grant_is_refused(stack: Stack):
    pool = stack.spare["s02"][0]
    image_uuid = str(uuid.uuid4())
    original, _ = _paths(image_uuid)
    forger, _ = new_signing_key()
    cases = {
        "": (401, "REPLICATION_DENIED"),
        _grant(pool.id, image_uuid, key=forger): (401, "REPLICATION_DENIED"),
        _grant(pool.id, image_uuid, key=stack.signing_key, node="s01"): (
            403,
            "REPLICATION_FORBIDDEN",
        ),
    }
    for grant, expected in cases.items():
        assert _code(_put(stack, pool.id, original, grant)) == expected
    assert not (Path(pool.base_path) / original).exists()


def sha_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
