"""``pixelfox scrub --repair`` heals a file from the image's verified copy on another node."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.moves.conftest import Stack
from tests.scrub_copies.conftest import (
    Copied,
    copied_image,
    last_report,
    scrub,
    with_backup,
)

pytestmark = pytest.mark.asyncio(loop_scope="package")


def _files(base: str) -> dict[str, bytes]:
    root = Path(base)
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


async def test_a_primarys_deleted_flipped_and_truncated_files_come_back_from_the_replica(
    stack: Stack,
) -> None:
    primary = await stack.pool("s01")
    await stack.pool("s02")
    deleted, flipped, truncated = [await copied_image(stack, primary) for _ in range(3)]
    deleted.damage(primary, deleted.original, "deleted")
    variant = flipped.variants[0].path
    flipped.damage(primary, variant, "flipped")
    truncated.damage(primary, truncated.original, "truncated")

    run = scrub(stack, primary, "--hashes", "--repair")

    assert run.returncode == 0, run.stdout + run.stderr
    report = await last_report(stack, primary)
    assert report["faults"] == {"missing": 1, "wrong-sha256": 1, "wrong-size": 1}
    assert report["repaired"] == report["faults"] and report["unrepaired"] == {}
    hows = {d["path"]: d["how"] for d in report["details"]}
    assert hows == {deleted.original: "copy", variant: "copy", truncated.original: "copy"}
    for copied in (deleted, flipped, truncated):
        assert copied.intact(primary) and copied.intact(copied.replica)
    # The damaged bytes wait in the quarantine, never deleted.
    quarantine = Path(primary.base_path) / ".quarantine"
    assert (quarantine / variant).is_file() and (quarantine / truncated.original).is_file()

    settled = _files(primary.base_path)
    second = scrub(stack, primary, "--hashes", "--repair")

    assert second.returncode == 0 and "faults: none" in second.stdout, second.stdout
    assert (await last_report(stack, primary))["faults"] == {}
    assert _files(primary.base_path) == settled


async def test_a_replicas_damaged_files_come_back_from_the_primary(stack: Stack) -> None:
    primary = await stack.pool("s01")
    await stack.pool("s02")
    copied = await copied_image(stack, primary)
    replica = copied.replica
    copied.damage(replica, copied.original, "deleted")
    for variant in copied.variants[:2]:
        copied.damage(replica, variant.path, "truncated")

    found = scrub(stack, replica, "--hashes")
    assert found.returncode == 3, found.stdout + found.stderr
    assert (await last_report(stack, replica))["images"] >= 1  # its listing holds the replica
    run = scrub(stack, replica, "--hashes", "--repair")

    assert run.returncode == 0, run.stdout + run.stderr
    report = await last_report(stack, replica)
    assert report["repaired"] == {"missing": 1, "wrong-size": len(copied.variants[:2])}
    assert {d["how"] for d in report["details"]} == {"copy"}
    assert copied.intact(replica) and copied.intact(primary)
    assert scrub(stack, replica, "--hashes", "--repair").returncode == 0
    assert (await last_report(stack, replica))["faults"] == {}


async def test_a_copy_that_is_bad_too_sends_the_original_to_the_backup_and_variants_to_re_making(
    stack: Stack,
) -> None:
    primary = await stack.pool("s01")
    await stack.pool("s02")
    copied: Copied = await copied_image(stack, primary)
    await with_backup(stack, copied)
    variant = copied.variants[0]
    for pool in (primary, copied.replica):
        copied.damage(pool, copied.original, "flipped")
        copied.damage(pool, variant.path, "flipped")

    run = scrub(stack, primary, "--hashes", "--repair")

    assert run.returncode == 0, run.stdout + run.stderr
    report = await last_report(stack, primary)
    assert report["repaired"] == {"wrong-sha256": 2} and report["unrepaired"] == {}
    hows = {d["path"]: d["how"] for d in report["details"]}
    assert hows == {copied.original: "s3-backup", variant.path: "re-made from the original"}
    original = Path(primary.base_path) / copied.original
    assert original.read_bytes() == copied.files[copied.original]
    assert scrub(stack, primary, "--hashes", "--repair").returncode == 0
    assert (await last_report(stack, primary))["faults"] == {}


async def test_a_replicas_variant_bad_on_every_copy_is_left_not_re_made(stack: Stack) -> None:
    primary = await stack.pool("s01")
    await stack.pool("s02")
    copied = await copied_image(stack, primary)
    variant = copied.variants[0].path
    for pool in (primary, copied.replica):
        copied.damage(pool, variant, "truncated")
    before = (Path(copied.replica.base_path) / variant).read_bytes()

    run = scrub(stack, copied.replica, "--repair")

    assert run.returncode == 3, run.stdout + run.stderr
    report = await last_report(stack, copied.replica)
    assert report["unrepaired"] == {"wrong-size": 1}
    how = report["details"][0]["how"]
    assert how.startswith("a replica's variants are not re-made; copy: s01: ")
    assert (Path(copied.replica.base_path) / variant).read_bytes() == before
