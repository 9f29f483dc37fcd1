"""Variant files on a real pool directory: layout, atomic writes, reuse, clean-up."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from pixelfox_storage.node_worker.files import TEMP_DIR, sweep_temp_files
from pixelfox_storage.node_worker.variants import make_variants
from pixelfox_storage.processing import ImageLimits, parse_variants
from tests.worker import images

SPECS = parse_variants("")


def stored_original(pool: Path, name: str = "jpg") -> tuple[str, str]:
    """An original where the node's ingest would have put it; returns (uuid, path)."""
    image_uuid = str(uuid.uuid4())
    rel = f"original/2026/03/07/{image_uuid}.{name}"
    (pool / rel).parent.mkdir(parents=True, exist_ok=True)
    images.photo(pool / rel, 1000, 750)
    return image_uuid, rel


def test_variants_are_written_beside_the_original_under_its_date(tmp_path: Path) -> None:
    image_uuid, rel = stored_original(tmp_path)

    report = make_variants(tmp_path, image_uuid, rel, SPECS, ImageLimits())

    assert report.state == "ready"
    assert {(v.kind, v.format) for v in report.variants} == {
        (s.name, f) for s in SPECS for f in s.formats
    }
    for variant in report.variants:
        assert variant.path == f"variants/2026/03/07/{image_uuid}_{variant.kind}.{variant.format}"
        assert (tmp_path / variant.path).stat().st_size == variant.size
    assert list((tmp_path / TEMP_DIR).iterdir()) == []


def test_variants_already_in_place_are_kept_and_missing_ones_made(tmp_path: Path) -> None:
    image_uuid, rel = stored_original(tmp_path)
    first = make_variants(tmp_path, image_uuid, rel, SPECS, ImageLimits())
    kept = tmp_path / first.variants[0].path
    gone = tmp_path / first.variants[-1].path
    past = time.time() - 3600
    os.utime(kept, (past, past))
    gone.unlink()

    second = make_variants(tmp_path, image_uuid, rel, SPECS, ImageLimits())

    assert second == first  # same report, in the same order
    assert kept.stat().st_mtime == past  # not encoded again
    assert gone.exists()


def test_left_overs_of_a_killed_run_are_removed_when_the_image_is_redone(tmp_path: Path) -> None:
    image_uuid, rel = stored_original(tmp_path)
    (tmp_path / TEMP_DIR).mkdir(parents=True)
    stale = tmp_path / TEMP_DIR / f"{image_uuid}_medium.webp.1a2b3c4d.tmp"
    stale.write_bytes(b"half a webp")
    other = tmp_path / TEMP_DIR / "someone-else_medium.webp.00000000.tmp"
    other.write_bytes(b"not ours")

    make_variants(tmp_path, image_uuid, rel, SPECS, ImageLimits())

    assert not stale.exists()
    assert other.exists()


def test_the_sweeper_removes_only_old_temporary_files(tmp_path: Path) -> None:
    tmp = tmp_path / TEMP_DIR
    tmp.mkdir(parents=True)
    old, new = tmp / "a_medium.jpg.1.tmp", tmp / "b_medium.jpg.2.tmp"
    old.write_bytes(b"x")
    new.write_bytes(b"y")
    past = time.time() - 7200
    os.utime(old, (past, past))

    assert sweep_temp_files(tmp_path, 3600) == 1
    assert not old.exists() and new.exists()


def test_a_missing_original_gives_a_failed_report_without_files(tmp_path: Path) -> None:
    image_uuid = str(uuid.uuid4())

    report = make_variants(
        tmp_path, image_uuid, f"original/2026/03/07/{image_uuid}.jpg", SPECS, ImageLimits()
    )

    assert report.state == "failed" and report.error.startswith("NOT_FOUND")
    assert not (tmp_path / "variants").exists()


def test_a_path_outside_the_layout_is_refused(tmp_path: Path) -> None:
    report = make_variants(tmp_path, "x", "original/../../etc/passwd", SPECS, ImageLimits())

    assert report.state == "failed" and report.error.startswith("BAD_REQUEST")


def test_an_undecodable_original_gives_a_failed_report_with_its_code(tmp_path: Path) -> None:
    image_uuid, rel = stored_original(tmp_path)
    (tmp_path / rel).write_bytes(b"\xff\xd8\xff\xe0 this is no jpeg")

    report = make_variants(tmp_path, image_uuid, rel, SPECS, ImageLimits())

    assert report.state == "failed" and report.error.startswith("INVALID_IMAGE")
    assert report.variants == []


def test_force_encodes_again_and_gives_the_same_bytes(tmp_path: Path) -> None:
    image_uuid, rel = stored_original(tmp_path)
    first = make_variants(tmp_path, image_uuid, rel, SPECS, ImageLimits())
    before = {v.path: (tmp_path / v.path).read_bytes() for v in first.variants}
    past = time.time() - 3600
    for path in before:
        os.utime(tmp_path / path, (past, past))

    again = make_variants(tmp_path, image_uuid, rel, SPECS, ImageLimits(), force=True)

    assert again == first
    for path, data in before.items():
        assert (tmp_path / path).stat().st_mtime > past  # written anew
        assert (tmp_path / path).read_bytes() == data
