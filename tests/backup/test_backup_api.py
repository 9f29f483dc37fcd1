"""The app's side of the backup: queued at upload completion, reports checked, restore lists."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from pixelfox_app.models import Image, UploadSession, User
from pixelfox_app.nodes import register_node
from pixelfox_protocol.internal import (
    BACKUP_PATH,
    POOL_BACKUPS_PATH,
    UPLOAD_COMPLETE_PATH,
    node_authorization,
)
from tests.backup.conftest import BUCKET, NODE, Stack, Stored

pytestmark = pytest.mark.asyncio(loop_scope="package")


async def _complete(stack: Stack, stored: Stored, pool: str) -> httpx.Response:
    """Report a stored upload exactly as the node's upload endpoint does."""
    pool_id = stack.pools[pool][0]
    # The image row is made by the completion itself: drop the one the helper made.
    image = await Image.get(uuid=stored.uuid)
    owner_id = image.owner_id  # type: ignore[attr-defined]
    await image.delete()
    session = await UploadSession.create(
        user_id=owner_id,
        pool_id=pool_id,
        token_id=secrets.token_hex(16),
        image_uuid=stored.uuid,
        max_size=1 << 20,
        expires_at=datetime.now(UTC) + timedelta(minutes=15),
    )
    completion = {
        "session_id": str(session.id),
        "image_uuid": stored.uuid,
        "pool_id": pool_id,
        "path": stored.path,
        "size": len(stored.data),
        "sha256": stored.sha256,
        "mime": "image/jpeg",
        "width": 64,
        "height": 48,
    }
    stack.job_ids += [
        stack.keys.backup_job(NODE, stored.uuid),
        stack.keys.process_job(NODE, stored.uuid),
    ]
    async with httpx.AsyncClient(base_url=stack.app_url, headers=stack.node_headers) as client:
        return await client.post(UPLOAD_COMPLETE_PATH, json=completion)


async def test_a_completed_upload_is_backed_up_by_the_node_without_anyone_asking(
    stack: Stack,
) -> None:
    stored = await stack.image()

    answer = await _complete(stack, stored, "main")

    assert answer.status_code == 200, answer.text
    deadline = time.monotonic() + 60
    image = await Image.get(uuid=stored.uuid)
    while image.backed_up_at is None and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        image = await Image.get(uuid=stored.uuid)
    assert image.backed_up_at is not None
    head = stack.s3().head_object(Bucket=BUCKET, Key=stack.object_key(stored))
    assert head["Metadata"]["sha256"] == stored.sha256


async def test_an_upload_to_a_pool_without_a_bucket_queues_no_backup(stack: Stack) -> None:
    stored = await stack.image(pool="plain")

    answer = await _complete(stack, stored, "plain")

    assert answer.status_code == 200, answer.text
    assert await stack.arq.exists(f"arq:job:{stack.keys.process_job(NODE, stored.uuid)}") or (
        await stack.arq.exists(f"arq:result:{stack.keys.process_job(NODE, stored.uuid)}")
    )
    assert not await stack.arq.exists(f"arq:job:{stack.keys.backup_job(NODE, stored.uuid)}")
    assert not await stack.arq.exists(f"arq:result:{stack.keys.backup_job(NODE, stored.uuid)}")


async def test_a_backup_report_with_another_hash_than_the_upload_is_refused(
    stack: Stack,
) -> None:
    stored = await stack.image()
    report = {"bucket": BUCKET, "key": "k", "sha256": "f" * 64, "size": 1}

    async with httpx.AsyncClient(base_url=stack.app_url, headers=stack.node_headers) as client:
        answer = await client.post(BACKUP_PATH.format(image_uuid=stored.uuid), json=report)

    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "CHECKSUM_MISMATCH"
    assert (await Image.get(uuid=stored.uuid)).backed_up_at is None


async def test_only_the_node_holding_the_pool_may_report_or_list_its_backups(
    stack: Stack,
) -> None:
    stored = await stack.image()
    other = {"Authorization": node_authorization("s02", await register_node("s02"))}
    report = {"bucket": BUCKET, "key": "k", "sha256": stored.sha256, "size": 1}

    async with httpx.AsyncClient(base_url=stack.app_url, headers=other) as client:
        reported = await client.post(BACKUP_PATH.format(image_uuid=stored.uuid), json=report)
        record = await client.get(BACKUP_PATH.format(image_uuid=stored.uuid))
        listed = await client.get(POOL_BACKUPS_PATH.format(pool_id=stack.pool_id))
    async with httpx.AsyncClient(base_url=stack.app_url) as client:
        anonymous = await client.get(BACKUP_PATH.format(image_uuid=stored.uuid))

    for answer in (reported, record, listed):
        assert answer.status_code == 403
        assert answer.json()["error"]["code"] == "POOL_NOT_ON_NODE"
    assert anonymous.status_code == 401
    assert (await Image.get(uuid=stored.uuid)).backed_up_at is None


async def test_a_pools_originals_are_listed_page_by_page_with_their_hashes(
    stack: Stack,
) -> None:
    user = await User.create(username=f"u{secrets.token_hex(4)}", password_hash="x")
    pool_id = stack.pools["plain"][0]
    await Image.filter(pool_id=pool_id).delete()
    made = []
    for n in range(3):
        image_uuid = str(uuid.uuid4())
        made.append(
            await Image.create(
                uuid=image_uuid,
                short_id=secrets.token_urlsafe(6),
                owner=user,
                pool_id=pool_id,
                path=f"original/2026/11/27/{image_uuid}.jpg",
                size=10 + n,
                sha256=f"{n:x}" * 64,
                mime="image/jpeg",
            )
        )
    path = POOL_BACKUPS_PATH.format(pool_id=pool_id)

    async with httpx.AsyncClient(base_url=stack.app_url, headers=stack.node_headers) as client:
        first = (await client.get(path, params={"limit": 2})).json()
        rest = (await client.get(path, params={"limit": 2, "after": first["next_after"]})).json()
        one = (await client.get(BACKUP_PATH.format(image_uuid=made[0].uuid))).json()

    assert [i["image_uuid"] for i in first["items"] + rest["items"]] == [str(m.uuid) for m in made]
    assert first["next_after"] == made[1].id and rest["next_after"] is None
    assert one == {
        "image_uuid": str(made[0].uuid),
        "pool_id": pool_id,
        "path": made[0].path,
        "sha256": "0" * 64,
        "size": 10,
        "backed_up_at": None,
    }
