"""``pixelfox scrub`` finds every planted fault on a real node's pool and ``--repair`` heals it."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pixelfox_app.models import Image, ImageCopy, ImageVariant
from pixelfox_protocol.internal import PoolImageFiles, PoolInfo, RepairPlan
from pixelfox_storage.appapi import AppAPI
from pixelfox_storage.backup.store import client_for
from pixelfox_storage.node_jobs.queue import connect
from pixelfox_storage.processing import ImageLimits, parse_variants
from pixelfox_storage.scrub.cli import pool_base
from pixelfox_storage.scrub.repair import BackupSource
from pixelfox_storage.scrub.run import Scrubber, ScrubOptions
from tests.backup.conftest import BUCKET, Stored
from tests.scrub.conftest import Pool

pytestmark = pytest.mark.asyncio(loop_scope="package")

TWO_DAYS = 2 * 86400


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _age(path: os.PathLike[str], seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


@dataclass
class Planted:
    """One of each fault on a pool, and an image left alone."""

    deleted_original: Stored
    flipped_variant: ImageVariant
    flipped_of: Stored
    truncated_original: Stored
    orphan: str
    young_orphan: str
    missing_variant: ImageVariant
    missing_of: Stored
    stray_part: str
    intact: Stored


async def _plant(pool: Pool) -> Planted:
    made = [await pool.ready_image() for _ in range(5)]
    (a, _), (b, b_variants), (c, _), (d, d_variants), (e, _) = made

    a.original.unlink()
    flipped = b_variants[0]
    target = pool.dir / flipped.path
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    c.original.write_bytes(c.data[: len(c.data) // 2])
    missing = d_variants[-1]
    (pool.dir / missing.path).unlink()
    await ImageVariant.filter(id=missing.id).delete()

    day = f"{datetime.now(UTC):%Y/%m/%d}"
    orphan = f"original/{day}/{uuid.uuid4()}.jpg"
    (pool.dir / orphan).write_bytes(b"left behind by something")
    _age(pool.dir / orphan, TWO_DAYS)
    young = f"variants/{day}/{uuid.uuid4()}_thumb200.jpg"
    (pool.dir / young).write_bytes(b"a copy on its way in")
    stray = ".incoming/0123abcd.part"
    (pool.dir / ".incoming").mkdir(exist_ok=True)
    (pool.dir / stray).write_bytes(b"half an upload")
    _age(pool.dir / stray, TWO_DAYS)
    return Planted(a, flipped, b, c, orphan, young, missing, d, stray, e)


EVERY_FAULT = {
    "missing": 1,
    "wrong-sha256": 1,
    "wrong-size": 1,
    "orphan": 1,
    "missing-variant": 1,
    "stray-incoming": 1,
}


async def test_scrub_with_hashes_finds_each_planted_fault_and_changes_nothing(
    scrub_pool: Pool,
) -> None:
    planted = await _plant(scrub_pool)
    before = scrub_pool.files()

    run = scrub_pool.scrub("--hashes")

    assert run.returncode == 3, run.stdout + run.stderr
    report = (await scrub_pool.report())["report"]
    assert report["faults"] == EVERY_FAULT
    assert report["images"] == 5
    found = {(d["kind"], d["path"]) for d in report["details"]}
    assert found == {
        ("missing", planted.deleted_original.path),
        ("wrong-sha256", planted.flipped_variant.path),
        ("wrong-size", planted.truncated_original.path),
        ("orphan", planted.orphan),
        ("missing-variant", planted.missing_variant.path),
        ("stray-incoming", planted.stray_part),
    }
    assert f"found        wrong-size      {planted.truncated_original.path}" in run.stdout
    assert "1 missing, 1 missing-variant, 1 orphan, 1 stray-incoming" in run.stdout
    assert scrub_pool.files() == before


async def test_scrub_without_hashes_reads_no_file_and_misses_only_the_flipped_byte(
    scrub_pool: Pool,
) -> None:
    await _plant(scrub_pool)

    run = scrub_pool.scrub()

    assert run.returncode == 3, run.stdout + run.stderr
    report = (await scrub_pool.report())["report"]
    assert report["faults"] == {k: n for k, n in EVERY_FAULT.items() if k != "wrong-sha256"}
    assert report["bytes_read"] == 0


async def test_repair_heals_every_fault_and_a_second_run_reports_zero(scrub_pool: Pool) -> None:
    planted = await _plant(scrub_pool)
    intact_before = planted.intact.original.read_bytes()

    run = scrub_pool.scrub("--hashes", "--repair")

    assert run.returncode == 0, run.stdout + run.stderr
    report = (await scrub_pool.report())["report"]
    assert report["faults"] == EVERY_FAULT
    assert report["repaired"] == EVERY_FAULT and report["unrepaired"] == {}
    hows = {d["kind"]: d["how"] for d in report["details"]}
    assert hows["missing"] == hows["wrong-size"] == "s3-backup"
    assert hows["wrong-sha256"] == hows["missing-variant"] == "re-made from the original"
    # Originals back from the bucket, byte for byte.
    assert planted.deleted_original.original.read_bytes() == planted.deleted_original.data
    assert planted.truncated_original.original.read_bytes() == planted.truncated_original.data
    # The flipped variant is made again and matches its recorded hash; the damaged
    # bytes wait in the quarantine.
    again = await ImageVariant.get(id=planted.flipped_variant.id)
    assert _sha256((scrub_pool.dir / again.path).read_bytes()) == again.sha256
    assert again.sha256 == planted.flipped_variant.sha256
    assert (scrub_pool.dir / ".quarantine" / planted.flipped_variant.path).is_file()
    # The missing variant has its file and its row again.
    image = await Image.get(uuid=planted.missing_of.uuid)
    back = await ImageVariant.get(
        image_id=image.id, kind=planted.missing_variant.kind, format=planted.missing_variant.format
    )
    assert back.sha256 == _sha256((scrub_pool.dir / back.path).read_bytes())
    # Orphans and stray parts are moved aside, never deleted; a young file stays.
    assert not (scrub_pool.dir / planted.orphan).exists()
    assert (scrub_pool.dir / ".quarantine" / planted.orphan).read_bytes() == (
        b"left behind by something"
    )
    assert (scrub_pool.dir / ".quarantine" / planted.stray_part).is_file()
    assert (scrub_pool.dir / planted.young_orphan).is_file()
    assert planted.intact.original.read_bytes() == intact_before

    settled = scrub_pool.files()
    second = scrub_pool.scrub("--hashes", "--repair")

    assert second.returncode == 0, second.stdout + second.stderr
    assert "faults: none" in second.stdout
    assert (await scrub_pool.report())["report"]["faults"] == {}
    assert scrub_pool.files() == settled


async def test_a_clean_pool_reports_no_fault_and_repair_changes_nothing(scrub_pool: Pool) -> None:
    for _ in range(2):
        await scrub_pool.ready_image()
    before = scrub_pool.files()

    run = scrub_pool.scrub("--hashes", "--repair")

    assert run.returncode == 0, run.stdout + run.stderr
    assert f"pool {scrub_pool.id}: 2 images" in run.stdout and "faults: none" in run.stdout
    report = (await scrub_pool.report())["report"]
    assert report["faults"] == {} and report["bytes_read"] == sum(
        (scrub_pool.dir / p).stat().st_size for p in before
    )
    assert scrub_pool.files() == before


async def test_a_dry_run_repair_says_what_it_would_do_and_changes_nothing(
    scrub_pool: Pool,
) -> None:
    planted = await _plant(scrub_pool)
    before = scrub_pool.files()

    run = scrub_pool.scrub("--hashes", "--repair", "--dry-run")

    assert run.returncode == 3, run.stdout + run.stderr
    assert f"would-repair orphan          {planted.orphan}" in run.stdout
    report = (await scrub_pool.report())["report"]
    assert report["faults"] == EVERY_FAULT and report["repaired"] == {}
    assert scrub_pool.files() == before
    assert not (scrub_pool.dir / ".quarantine").exists()


async def test_an_original_missing_from_disk_and_bucket_is_reported_unrepaired(
    scrub_pool: Pool,
) -> None:
    stored, variants = await scrub_pool.ready_image()
    stored.original.unlink()
    scrub_pool.stack.s3().delete_object(Bucket=BUCKET, Key=scrub_pool.stack.object_key(stored))
    flipped = scrub_pool.dir / variants[0].path
    flipped.write_bytes(flipped.read_bytes()[:-1] + b"\x00")

    run = scrub_pool.scrub("--hashes", "--repair")

    assert run.returncode == 3, run.stdout + run.stderr
    report = (await scrub_pool.report())["report"]
    assert report["unrepaired"] == {"missing": 1, "wrong-sha256": 1}
    hows = {d["kind"]: d["how"] for d in report["details"]}
    assert hows["missing"].startswith("copy: no verified copy on another node that is up; ")
    assert "s3-backup: not-in-backup" in hows["missing"]
    assert hows["wrong-sha256"] == "the original is not right either"
    assert flipped.is_file()  # nothing to re-make it from: left where it is


async def test_the_operator_lists_and_removes_what_the_scrub_quarantined(
    scrub_pool: Pool,
) -> None:
    planted = await _plant(scrub_pool)
    assert scrub_pool.scrub("--hashes", "--repair").returncode == 0

    listed = scrub_pool.cli("quarantine", "list", "--pool", str(scrub_pool.id))
    assert listed.returncode == 0, listed.stderr
    assert planted.orphan in listed.stdout and planted.stray_part in listed.stdout
    assert "3 file(s)" in listed.stdout  # and the flipped variant's bytes

    refused = scrub_pool.cli("quarantine", "remove", "--pool", str(scrub_pool.id), "../x.jpg")
    assert refused.returncode != 0 and "not a file of the quarantine" in refused.stderr
    removed = scrub_pool.cli("quarantine", "remove", "--pool", str(scrub_pool.id), planted.orphan)
    assert removed.returncode == 0, removed.stderr
    assert not (scrub_pool.dir / ".quarantine" / planted.orphan).exists()
    assert (scrub_pool.dir / ".quarantine" / planted.stray_part).exists()
    everything = scrub_pool.cli(
        "quarantine", "remove", "--pool", str(scrub_pool.id), "--older-than", "0"
    )
    assert "2 file(s) removed" in everything.stdout


@pytest.mark.parametrize("since", ["moved", "deleted"])
async def test_an_image_moved_or_deleted_since_the_listing_is_not_repaired_into_the_pool(
    scrub_pool: Pool, pool_bank: list[Pool], since: str
) -> None:
    stored, _ = await scrub_pool.ready_image()
    stored.original.unlink()
    image = await Image.get(uuid=stored.uuid)
    settings = scrub_pool.stack.settings()
    assert await pool_base(settings, scrub_pool.id) == scrub_pool.dir
    redis = await connect(settings.redis_url)
    try:
        async with AppAPI(settings) as api:
            stale = await api.pool_files(scrub_pool.id)
            elsewhere = pool_bank.pop()
            if since == "moved":  # as a move switches them: the image's rows and its copy's
                await Image.filter(id=image.id).update(pool_id=elsewhere.id)
                await ImageCopy.filter(image_id=image.id).update(pool_id=elsewhere.id)
            else:
                await Image.filter(uuid=stored.uuid).update(
                    deleted_at=datetime.now(UTC), deleted_by="owner"
                )

            async def stale_listing(pool_id: int, after: int = 0, limit: int = 200) -> object:
                return stale.model_copy(update={"next_after": None})

            api.pool_files = stale_listing  # type: ignore[method-assign,assignment]
            scrubber = Scrubber(
                "s01",
                api,
                redis,
                scrub_pool.stack.keys,
                parse_variants(""),
                ImageLimits(),
                [BackupSource(client_for(settings))],
            )
            pool = (await api.node_config()).pools
            info = next(p for p in pool if p.id == scrub_pool.id)
            report, _ = await scrubber.run(info, ScrubOptions(repair=True))
    finally:
        await redis.aclose()
        await Image.filter(uuid=stored.uuid).update(pool_id=scrub_pool.id, deleted_at=None)
        await ImageCopy.filter(image_id=image.id).update(pool_id=scrub_pool.id)

    assert report.unrepaired == {"missing": 1}
    expected = (
        "the image moved since the listing (no copy on this pool now)"
        if since == "moved"
        else "the image is gone since the listing"
    )
    assert report.details[0]["how"].startswith(expected)
    assert not stored.original.exists()


@dataclass
class FakeReplica:
    """A stand-in for a verified copy on another node: it holds some files' bytes."""

    files: dict[str, bytes]
    name: str = "replica"
    asked: list[str] = field(default_factory=list)

    async def original(
        self, base: Path, pool: PoolInfo, item: PoolImageFiles, plan: RepairPlan
    ) -> str | None:
        self.asked.append(item.original.path)
        return self._put(base, item.original.path)

    async def variant(
        self, base: Path, pool: PoolInfo, item: PoolImageFiles, plan: RepairPlan, path: str
    ) -> str | None:
        self.asked.append(path)
        return self._put(base, path)

    def _put(self, base: Path, path: str) -> str | None:
        if path not in self.files:
            return "no copy"
        (base / path).write_bytes(self.files[path])
        return None


async def test_repair_asks_its_sources_in_order_and_re_makes_only_what_none_has(
    scrub_pool: Pool,
) -> None:
    stored, variants = await scrub_pool.ready_image()
    kept = variants[0]
    replica = FakeReplica({kept.path: (scrub_pool.dir / kept.path).read_bytes()})
    stored.original.unlink()
    for variant in variants[:2]:
        (scrub_pool.dir / variant.path).unlink()
    settings = scrub_pool.stack.settings()
    redis = await connect(settings.redis_url)
    try:
        async with AppAPI(settings) as api:
            info = next(p for p in (await api.node_config()).pools if p.id == scrub_pool.id)
            sources = [replica, BackupSource(client_for(settings))]
            scrubber = Scrubber(
                "s01", api, redis, scrub_pool.stack.keys, parse_variants(""), ImageLimits(), sources
            )
            report, _ = await scrubber.run(info, ScrubOptions(repair=True))
    finally:
        await redis.aclose()

    hows = {d["path"]: d["how"] for d in report.details}
    assert hows == {
        stored.path: "s3-backup",  # the replica had no copy of the original
        kept.path: "replica",
        variants[1].path: "re-made from the original",
    }
    assert replica.asked[0] == stored.path
    assert stored.original.read_bytes() == stored.data
    assert all((scrub_pool.dir / v.path).is_file() for v in variants[:2])
