"""The scrub's pieces on a plain directory: orphans and strays, the bytes/s cap, the quarantine."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from pixelfox_protocol.layout import UnsafePath
from pixelfox_storage.scrub.check import Throttle, find_orphans, sha256_of
from pixelfox_storage.scrub.repair import quarantine, quarantined, remove_quarantined

DAY = 86400
UUID = "0b8a5c1e-2f4d-4a6b-9c3e-5d7f8a9b0c1d"


def _file(base: Path, rel: str, age: float, data: bytes = b"x") -> None:
    full = base / rel
    full.parent.mkdir(parents=True, exist_ok=True)
    full.write_bytes(data)
    then = time.time() - age
    os.utime(full, (then, then))


def test_only_old_files_without_a_row_are_orphans_and_known_ones_never(tmp_path: Path) -> None:
    _file(tmp_path, f"original/2026/12/01/{UUID}.jpg", 2 * DAY)
    _file(tmp_path, f"private/variants/2026/12/01/{UUID}_thumb200.webp", 2 * DAY)
    _file(tmp_path, "variants/2026/12/01/known_thumb200.jpg", 2 * DAY)
    _file(tmp_path, "original/2026/12/03/young.jpg", 60)
    _file(tmp_path, ".tmp/worker/old.tmp", 2 * DAY)  # the worker's own sweep takes these

    found = find_orphans(tmp_path, {"variants/2026/12/01/known_thumb200.jpg"}, grace_seconds=DAY)

    assert sorted((f.kind, f.path, f.image_uuid) for f in found) == [
        ("orphan", f"original/2026/12/01/{UUID}.jpg", UUID),
        ("orphan", f"private/variants/2026/12/01/{UUID}_thumb200.webp", UUID),
    ]


def test_a_resumable_upload_still_alive_is_no_stray_part(tmp_path: Path) -> None:
    _file(tmp_path, ".incoming/tus/abc/data", 1.5 * DAY)
    _file(tmp_path, ".incoming/dead.part", 3 * DAY)

    found = find_orphans(tmp_path, set(), grace_seconds=DAY, incoming_grace_seconds=2 * DAY)

    assert [(f.kind, f.path) for f in found] == [("stray-incoming", ".incoming/dead.part")]


def test_the_throttle_holds_reads_to_the_cap(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    path.write_bytes(os.urandom(3 * 1024 * 1024))
    throttle = Throttle(bytes_per_second=10 * 1024 * 1024)

    started = time.monotonic()
    sha256_of(path, throttle)
    took = time.monotonic() - started

    assert throttle.read == 3 * 1024 * 1024
    assert took >= 0.29  # 3 MiB at 10 MiB/s


def test_quarantine_keeps_both_files_of_one_path_and_refuses_paths_outside(tmp_path: Path) -> None:
    rel = f"original/2026/12/01/{UUID}.jpg"
    _file(tmp_path, rel, 0, b"first")
    assert quarantine(tmp_path, rel) == f".quarantine/{rel}"
    _file(tmp_path, rel, 0, b"second")
    assert quarantine(tmp_path, rel) == f".quarantine/{rel}.1"

    assert [q.path for q in quarantined(tmp_path)] == [rel, f"{rel}.1"]
    with pytest.raises(UnsafePath):
        remove_quarantined(tmp_path, paths=["../original/x.jpg"])
    assert remove_quarantined(tmp_path, paths=[rel]) == [rel]
    assert (tmp_path / ".quarantine" / f"{rel}.1").read_bytes() == b"second"
