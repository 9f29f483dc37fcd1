"""The shared ingest code on its own: what the node and the app's proxy mode rely on."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pixelfox_common import ingest
from pixelfox_common.ingest import sweep_incoming
from pixelfox_protocol.errors import APIError
from tests.storage import images

BOUNDARY = "test-boundary"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def form(data: bytes, filename: str = "a.jpg", extra: bytes = b"") -> bytes:
    return (
        extra
        + f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode()
        + data
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


async def chunks(data: bytes, size: int, done: asyncio.Event | None = None) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]
        await asyncio.sleep(0)
    if done is not None:
        done.set()


def files(pool: Path) -> list[Path]:
    return sorted(p for p in pool.rglob("*") if p.is_file())


def today() -> str:
    return f"{datetime.now(UTC):%Y/%m/%d}"


async def eventually(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    """Whether ``condition`` holds within ``seconds`` (threads may still be finishing)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def test_a_multipart_body_in_one_byte_pieces_is_parsed_whole(tmp_path: Path) -> None:
    data = images.jpeg()
    extra = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="title"\r\n\r\nhi\r\n'.encode()
    image_uuid = str(uuid.uuid4())
    # The date folder is the day of the commit: one of these two, across midnight too.
    days = {today()}

    result = await ingest.ingest_multipart(
        chunks(form(data, extra=extra), 1),
        CONTENT_TYPE,
        pool_base=tmp_path,
        image_uuid=image_uuid,
        limits=ingest.IngestLimits(max_size=len(data)),
    )

    days.add(today())
    assert result.path in {f"original/{day}/{image_uuid}.jpg" for day in days}
    assert result.full_path.read_bytes() == data
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert (result.size, result.mime, result.width, result.height) == (
        len(data),
        "image/jpeg",
        64,
        48,
    )
    assert result.filename == "a.jpg"
    assert files(tmp_path) == [result.full_path]


async def test_a_raw_body_larger_than_the_flush_size_hashes_correctly(tmp_path: Path) -> None:
    data = images.noisy_jpeg(1600, 1200)
    assert len(data) > 1024 * 1024

    result = await ingest.ingest_raw(
        chunks(data, 65536),
        pool_base=tmp_path,
        image_uuid=str(uuid.uuid4()),
        limits=ingest.IngestLimits(max_size=len(data)),
        content_type="image/jpeg",
        content_length=len(data),
    )

    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.full_path.read_bytes() == data


async def test_a_caller_cancelled_while_receiving_leaves_nothing(tmp_path: Path) -> None:
    data = images.jpeg(2000, 1500)
    gate = asyncio.Event()

    async def stalls() -> AsyncIterator[bytes]:
        yield data[:100000]
        gate.set()
        await asyncio.sleep(60)
        yield data[100000:]

    task = asyncio.ensure_future(
        ingest.ingest_raw(
            stalls(),
            pool_base=tmp_path,
            image_uuid=str(uuid.uuid4()),
            limits=ingest.IngestLimits(max_size=len(data)),
        )
    )
    # The first chunk was taken (the body asks for the next): the file is open.
    await gate.wait()
    assert files(tmp_path), "the temporary file exists while receiving"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await eventually(lambda: files(tmp_path) == [])


async def test_a_caller_cancelled_while_committing_leaves_nothing(tmp_path: Path) -> None:
    data = images.png(1200, 900)
    received = asyncio.Event()
    task = asyncio.ensure_future(
        ingest.ingest_raw(
            chunks(data, 65536, received),
            pool_base=tmp_path,
            image_uuid=str(uuid.uuid4()),
            limits=ingest.IngestLimits(max_size=len(data)),
        )
    )
    await received.wait()
    task.cancel()  # the body is in: the task is judging or committing now
    with pytest.raises(asyncio.CancelledError):
        await task
    # The commit runs to its end in a task of its own, then its file is removed.
    assert await eventually(lambda: files(tmp_path) == [])


async def test_a_silent_client_is_cut_off(tmp_path: Path) -> None:
    async def silent() -> AsyncIterator[bytes]:
        yield images.jpeg()[:100]
        await asyncio.sleep(60)
        yield b""

    with pytest.raises(APIError) as refused:
        await ingest.ingest_raw(
            silent(),
            pool_base=tmp_path,
            image_uuid=str(uuid.uuid4()),
            limits=ingest.IngestLimits(max_size=10**6, idle_timeout=0.2),
        )
    assert refused.value.code == "INCOMPLETE_UPLOAD"
    assert files(tmp_path) == []


@pytest.mark.parametrize(
    ("limits", "data", "code"),
    [
        (
            ingest.IngestLimits(max_size=10**6, allowed_types=frozenset({"image/jpeg"})),
            images.png(),
            "UNSUPPORTED_TYPE",
        ),
        (
            ingest.IngestLimits(max_size=10**6, max_pixels=64 * 48 - 1),
            images.jpeg(),
            "IMAGE_TOO_LARGE",
        ),
        (
            ingest.IngestLimits(max_size=10**6, max_frames=2),
            images.gif_frames(3),
            "IMAGE_TOO_LARGE",
        ),
    ],
    ids=["type", "pixels", "frames"],
)
async def test_the_callers_limits_decide(tmp_path: Path, limits, data: bytes, code: str) -> None:
    allowed = (
        frozenset(limits.allowed_types | {"image/gif"})
        if code == "IMAGE_TOO_LARGE"
        else limits.allowed_types
    )
    limits = ingest.IngestLimits(
        max_size=limits.max_size,
        allowed_types=allowed,
        max_pixels=limits.max_pixels,
        max_frames=limits.max_frames,
    )
    with pytest.raises(APIError) as refused:
        await ingest.ingest_multipart(
            chunks(form(data), 4096),
            CONTENT_TYPE,
            pool_base=tmp_path,
            image_uuid=str(uuid.uuid4()),
            limits=limits,
        )
    assert refused.value.code == code
    assert files(tmp_path) == []


def test_the_sweeper_takes_only_stale_temporary_files(tmp_path: Path) -> None:
    incoming = tmp_path / ".incoming"
    incoming.mkdir()
    stale, fresh, other = incoming / "a.1.part", incoming / "b.2.part", incoming / "keep.txt"
    for path in (stale, fresh, other):
        path.write_bytes(b"x")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    os.utime(other, (old, old))

    assert sweep_incoming(tmp_path, 600) == 1
    assert not stale.exists() and fresh.exists() and other.exists()
