"""Originals go to the pool's bucket after an upload and come back with the same SHA-256."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import time
import uuid

import pytest
from click.testing import CliRunner

from pixelfox_app.models import Image, ImageState, ImageVariant
from pixelfox_cli.restore import restore_command
from pixelfox_storage.backup.restore import RestoreError
from tests.backup.conftest import BUCKET, NODE, Stack, Stored
from tests.support import PIXELFOX, ROOT

pytestmark = pytest.mark.asyncio(loop_scope="package")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def _wait_ready(stored: Stored, within: float = 60) -> Image:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        image = await Image.get(uuid=stored.uuid)
        if image.state != ImageState.PROCESSING:
            return image
        await asyncio.sleep(0.1)
    raise AssertionError(f"{stored.uuid} was not processed within {within}s")


async def test_the_node_worker_copies_an_original_to_the_bucket_and_the_app_records_it(
    stack: Stack,
) -> None:
    stored = await stack.image()

    result = await stack.back_up(stored)

    assert result == {"state": "backed-up", "key": stack.object_key(stored), "uploaded": True}
    obj = stack.s3().get_object(Bucket=BUCKET, Key=stack.object_key(stored))
    body = obj["Body"].read()
    assert _sha256(body) == stored.sha256
    assert obj["Metadata"]["sha256"] == stored.sha256
    image = await Image.get(uuid=stored.uuid)
    assert image.backed_up_at is not None


async def test_a_backup_job_for_an_original_already_in_the_bucket_uploads_nothing(
    stack: Stack,
) -> None:
    stored = await stack.image()
    await stack.back_up(stored)
    first = stack.s3().head_object(Bucket=BUCKET, Key=stack.object_key(stored))
    await stack.arq.delete(f"arq:result:{stack.keys.backup_job(NODE, stored.uuid)}")

    again = await stack.back_up(stored)

    assert again["state"] == "backed-up" and again["uploaded"] is False
    second = stack.s3().head_object(Bucket=BUCKET, Key=stack.object_key(stored))
    assert second["LastModified"] == first["LastModified"]


async def test_an_original_whose_bytes_differ_from_the_upload_record_is_not_backed_up(
    stack: Stack,
) -> None:
    stored = await stack.image(sha256="0" * 64)  # the disk no longer matches the record

    result = await stack.back_up(stored)

    assert result == {"state": "mismatch"}
    listed = stack.s3().list_objects_v2(Bucket=BUCKET, Prefix=stack.object_key(stored))
    assert listed.get("KeyCount", 0) == 0
    assert (await Image.get(uuid=stored.uuid)).backed_up_at is None


async def test_restore_of_one_image_brings_its_original_back_byte_for_byte(stack: Stack) -> None:
    stored = await stack.image()
    await stack.back_up(stored)
    stored.original.unlink()

    run = stack.restore("--image", stored.uuid)

    assert run.returncode == 0, run.stdout + run.stderr
    assert f"restored       {stored.uuid}" in run.stdout
    assert _sha256(stored.original.read_bytes()) == stored.sha256
    assert stored.original.read_bytes() == stored.data
    # No temporary download is left in the pool.
    assert not any((stack.pool_dir / ".tmp" / "restore").glob("*"))


async def test_a_restored_image_gets_its_variants_made_again(stack: Stack) -> None:
    stored = await stack.image()
    await stack.back_up(stored)
    stored.original.unlink()

    assert await stack.restore_here(image_uuid=stored.uuid) == {stored.uuid: "restored"}
    image = await _wait_ready(stored)
    assert image.state == ImageState.READY
    variants = await ImageVariant.filter(image_id=image.id)
    assert variants
    assert all((stack.pool_dir / v.path).is_file() for v in variants)


async def test_restore_of_a_pool_brings_back_missing_and_damaged_originals_and_keeps_good_ones(
    stack: Stack,
) -> None:
    missing, damaged, intact = [await stack.image(pool="whole") for _ in range(3)]
    for stored in (missing, damaged, intact):
        await stack.back_up(stored)
    missing.original.unlink()
    damaged.original.write_bytes(b"not the picture any more")

    states = await stack.restore_here(pool_id=stack.pools["whole"][0], remake_variants=False)

    assert states == {missing.uuid: "restored", damaged.uuid: "replaced", intact.uuid: "present"}
    for stored in (missing, damaged, intact):
        assert _sha256(stored.original.read_bytes()) == stored.sha256


async def test_restore_refuses_a_backup_that_does_not_match_the_upload_record(
    stack: Stack,
) -> None:
    stored = await stack.image()
    await stack.back_up(stored)
    # Someone overwrote the object in the bucket.
    stack.s3().put_object(
        Bucket=BUCKET,
        Key=stack.object_key(stored),
        Body=b"other bytes",
        Metadata={"sha256": stored.sha256},
    )
    stored.original.unlink()

    states = await stack.restore_here(image_uuid=stored.uuid)

    assert states == {stored.uuid: "mismatch"}
    assert not stored.original.exists()
    assert not any((stack.pool_dir / ".tmp" / "restore").glob("*"))


async def test_restore_says_so_when_an_original_was_never_backed_up(stack: Stack) -> None:
    stored = await stack.image()
    stored.original.unlink()

    assert await stack.restore_here(image_uuid=stored.uuid) == {stored.uuid: "not-in-backup"}


async def test_a_dry_run_names_what_is_missing_and_changes_nothing(stack: Stack) -> None:
    stored = await stack.image()
    await stack.back_up(stored)
    stored.original.unlink()

    states = await stack.restore_here(image_uuid=stored.uuid, dry_run=True)

    assert states == {stored.uuid: "would-restore"}
    assert not stored.original.exists()


async def test_restore_of_an_unknown_image_or_pool_fails_with_a_clear_message(
    stack: Stack,
) -> None:
    unknown_pool = stack.restore("--pool", "999999")
    with pytest.raises(RestoreError, match="ImageGone"):
        await stack.restore_here(image_uuid="00000000-0000-4000-8000-000000000000")
    both = CliRunner().invoke(restore_command, ["--pool", "1", "--image", str(uuid.uuid4())])

    assert unknown_pool.returncode == 1 and "999999" in unknown_pool.stderr
    assert both.exit_code == 2 and "exactly one of --image or --pool" in both.output


async def test_the_backup_command_queues_the_originals_a_pool_is_missing(stack: Stack) -> None:
    pool_id = stack.pools["late"][0]
    stored = await stack.image(pool="late")  # an upload from before the pool had a bucket
    stack.job_ids.append(f"backup:{stored.uuid}")

    run = await asyncio.to_thread(
        subprocess.run,
        [*PIXELFOX, "backup", "--pool", str(pool_id)],
        env={**os.environ, **stack.app_env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert run.returncode == 0, run.stdout + run.stderr
    assert "queued now" in run.stdout
    deadline = time.monotonic() + 60
    while (await Image.get(uuid=stored.uuid)).backed_up_at is None:
        assert time.monotonic() < deadline, "the queued backup did not happen"
        await asyncio.sleep(0.1)
    head = stack.s3().head_object(Bucket=BUCKET, Key=stack.object_key(stored))
    assert head["Metadata"]["sha256"] == stored.sha256
