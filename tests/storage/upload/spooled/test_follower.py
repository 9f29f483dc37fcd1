"""The spool follower on its own: files written piece by piece, as nginx writes a body.

Whatever the follower did while a file grew, the upload must end exactly as the
same file handed over without it: the same stored bytes and SHA-256, the same
refusal — and nothing left behind once the file's name is gone.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pixelfox_common import ingest
from pixelfox_protocol.errors import APIError
from pixelfox_storage.upload.spooled.bodyfile import BodyFile
from pixelfox_storage.upload.spooled.follower import SpoolFollower, handover
from tests.storage import images

BOUNDARY = "follower-boundary"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def form(data: bytes, filename: str = "a.jpg", boundary: str = BOUNDARY) -> bytes:
    return (
        f'--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nhi\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )


def two_files(data: bytes) -> bytes:
    part = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n'
        ).encode()
        + data
        + b"\r\n"
    )
    return part + part + f"--{BOUNDARY}--\r\n".encode()


@pytest.fixture
def pool(tmp_path: Path) -> Path:
    base = tmp_path / "pool"
    (base / ".spool").mkdir(parents=True)
    return base


@pytest.fixture
def follower(pool: Path) -> Iterator[SpoolFollower]:
    running = SpoolFollower(max_age=60)
    running.spools = [(pool / ".spool", pool)]
    running.start()
    yield running
    running.stop()
    assert not [t for t in threading.enumerate() if t.name.startswith("spool-follow")]


def eventually(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def looked(follower: SpoolFollower) -> None:
    """Wait until the follower has looked at every file there now (followed it, or never will)."""
    # The listing under way may have missed a file that came during it: wait for the next.
    since = follower.scans
    assert eventually(lambda: follower.scans >= since + 2), "the follower stopped listing"


def spool_write(folder: Path, name: str, data: bytes, *, pieces: int = 16) -> Path:
    """Write ``data`` as nginx does: one file, growing a buffer at a time, with pauses."""
    path = folder / name
    step = max(1, -(-len(data) // pieces))
    with path.open("wb") as f:
        for start in range(0, len(data), step):
            f.write(data[start : start + step])
            f.flush()
            time.sleep(0.01)
    return path


def leftovers(pool: Path) -> list[Path]:
    return sorted((pool / ".incoming").glob("*")) if (pool / ".incoming").exists() else []


async def take(
    path: Path,
    pool: Path,
    follower: SpoolFollower | None,
    *,
    content_type: str | None = CONTENT_TYPE,
    filename: str = "a.jpg",
    max_size: int = 64 * 1024 * 1024,
) -> ingest.IngestResult | str:
    """Hand the file over as spooled.py does: the result, or the refusal's code."""
    limits = ingest.IngestLimits(max_size=max_size)
    body = BodyFile(path)
    try:
        with body, handover(follower, body):
            if content_type is None:
                return await ingest.ingest_raw(
                    body,
                    pool_base=pool,
                    image_uuid=str(uuid.uuid4()),
                    limits=limits,
                    content_type="image/jpeg",
                    filename=filename,
                    content_length=body.size,
                )
            return await ingest.ingest_multipart(
                body, content_type, pool_base=pool, image_uuid=str(uuid.uuid4()), limits=limits
            )
    except APIError as exc:
        return exc.code


def same_upload(a: ingest.IngestResult, b: ingest.IngestResult) -> None:
    assert a.full_path.read_bytes() == b.full_path.read_bytes()
    fields = ("size", "sha256", "mime", "width", "height", "frames", "filename")
    assert [getattr(a, f) for f in fields] == [getattr(b, f) for f in fields]


@pytest.mark.parametrize("kind", ["raw", "multipart"])
async def test_a_body_followed_while_written_is_stored_as_without_the_follower(
    pool: Path, tmp_path: Path, follower: SpoolFollower, kind: str
) -> None:
    image = images.noisy_jpeg(1600, 1200)
    data = image if kind == "raw" else form(image, "holiday.jpg")
    content_type = None if kind == "raw" else CONTENT_TYPE
    spooled = spool_write(pool / ".spool", "0000000001", data)
    assert eventually(lambda: follower.following == 1)
    (tmp_path / "elsewhere").mkdir()
    unfollowed = spool_write(tmp_path / "elsewhere", "0000000002", data, pieces=1)

    followed = await take(spooled, pool, follower, content_type=content_type)
    plain = await take(unfollowed, pool, None, content_type=content_type)

    assert isinstance(followed, ingest.IngestResult) and isinstance(plain, ingest.IngestResult)
    assert followed.followed and not plain.followed
    same_upload(followed, plain)
    assert followed.sha256 == hashlib.sha256(image).hexdigest()
    spooled.unlink()  # nginx, when the request ends
    assert eventually(lambda: follower.following == 0)
    assert leftovers(pool) == []


async def test_the_tail_written_just_before_the_handover_is_read_too(
    pool: Path, follower: SpoolFollower
) -> None:
    image = images.noisy_jpeg(1200, 900)
    path = pool / ".spool" / "0000000003"
    with path.open("wb") as f:
        f.write(image[: len(image) // 2])
        f.flush()
        assert eventually(lambda: follower.following == 1)
        f.write(image[len(image) // 2 :])

    result = await take(path, pool, follower, content_type=None)

    assert isinstance(result, ingest.IngestResult) and result.followed
    assert result.sha256 == hashlib.sha256(image).hexdigest()


REFUSALS: dict[str, tuple[bytes, dict[str, object]]] = {
    "too-large": (form(images.jpeg(640, 480)), {"max_size": 1000}),
    "extension": (form(images.jpeg(), "notes.txt"), {}),
    "text-as-jpg": (form(images.TEXT, "a.jpg"), {}),
    "other-boundary": (form(images.jpeg(), boundary="not-the-header-one"), {}),
    "no-end": (form(images.jpeg())[:-8], {}),
    "two-files": (two_files(images.jpeg()), {}),
    "raw-that-looks-like-a-form": (form(images.jpeg()), {"content_type": None}),
    "not-a-form": (images.jpeg(), {}),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
async def test_a_followed_body_is_refused_as_without_the_follower(
    pool: Path, tmp_path: Path, follower: SpoolFollower, case: str
) -> None:
    data, options = REFUSALS[case]
    spooled = spool_write(pool / ".spool", "0000000004", data, pieces=4)
    looked(follower)  # else this would pass with a follower that never looked
    (tmp_path / "elsewhere").mkdir()
    unfollowed = spool_write(tmp_path / "elsewhere", "0000000005", data, pieces=1)

    followed = await take(spooled, pool, follower, **options)  # type: ignore[arg-type]
    plain = await take(unfollowed, pool, None, **options)  # type: ignore[arg-type]

    assert followed == plain
    assert isinstance(plain, str)
    spooled.unlink()
    assert eventually(lambda: follower.following == 0)
    assert leftovers(pool) == []


async def test_a_cut_off_body_takes_its_part_file_along_when_its_name_goes(
    pool: Path, follower: SpoolFollower
) -> None:
    data = form(images.noisy_jpeg(1200, 900))
    path = pool / ".spool" / "0000000006"
    with path.open("wb") as f:
        f.write(data[: len(data) // 2])
        f.flush()
        assert eventually(lambda: len(leftovers(pool)) == 1)  # the part, half copied
        path.unlink()  # nginx, when the client is gone

    assert eventually(lambda: follower.following == 0)
    assert leftovers(pool) == []


async def test_files_beyond_the_limit_are_not_followed_and_still_stored(pool: Path) -> None:
    follower = SpoolFollower(max_age=60, max_files=2)
    follower.spools = [(pool / ".spool", pool)]
    follower.start()
    try:
        image = images.jpeg(640, 480)
        paths = [pool / ".spool" / f"000000001{i}" for i in range(3)]
        with paths[0].open("wb") as a, paths[1].open("wb") as b:
            a.write(image[:100])
            b.write(image[:100])
            a.flush()
            b.flush()
            assert eventually(lambda: follower.following == 2)
            paths[2].write_bytes(image)
            looked(follower)
            assert follower.following == 2  # seen, and left alone
            a.write(image[100:])
            b.write(image[100:])

        results = [await take(p, pool, follower, content_type=None) for p in paths]

        assert [r.followed for r in results if isinstance(r, ingest.IngestResult)] == [
            True,
            True,
            False,
        ]
        digest = hashlib.sha256(image).hexdigest()
        assert {r.sha256 for r in results if isinstance(r, ingest.IngestResult)} == {digest}
    finally:
        follower.stop()


async def test_only_plain_files_are_followed(
    pool: Path, tmp_path: Path, follower: SpoolFollower
) -> None:
    outside = tmp_path / "outside"
    outside.write_bytes(images.jpeg())
    os.symlink(outside, pool / ".spool" / "0000000020")
    os.mkfifo(pool / ".spool" / "0000000021")
    os.link(outside, pool / ".spool" / "0000000022")

    looked(follower)

    assert follower.following == 0


async def test_stopping_removes_the_part_files_of_unclaimed_bodies(pool: Path) -> None:
    follower = SpoolFollower(max_age=60)
    follower.spools = [(pool / ".spool", pool)]
    follower.start()
    data = form(images.noisy_jpeg(1200, 900))
    with (pool / ".spool" / "0000000030").open("wb") as f:
        f.write(data[: len(data) // 2])
        f.flush()
        assert eventually(lambda: len(leftovers(pool)) == 1)

        follower.stop()

    assert follower.following == 0
    assert leftovers(pool) == []


async def test_a_file_that_stops_growing_is_forgotten_after_the_sweep_age(pool: Path) -> None:
    follower = SpoolFollower(max_age=0.2)
    follower.spools = [(pool / ".spool", pool)]
    follower.start()
    try:
        data = form(images.noisy_jpeg(1200, 900))
        (pool / ".spool" / "0000000040").write_bytes(data[: len(data) // 2])
        assert eventually(lambda: len(leftovers(pool)) == 1)

        assert eventually(lambda: follower.following == 0)
        assert leftovers(pool) == []
    finally:
        follower.stop()
