"""What the benchmarks share: their processes, ports, payloads, clients and CPU clocks.

A benchmark is run as a script (``.venv/bin/python bench/<name>.py``), so it puts
the project on ``sys.path`` itself and then imports this module as
``bench.harness``. Processes are started and stopped by the supervisor of
``pixelfox up`` (each in its own process group, output in a log file), so a
benchmark measures PixelFox started the way an appliance starts it.
"""

from __future__ import annotations

import hashlib
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis

from pixelfox_cli.supervisor import Child, ChildFailed, Supervisor

ROOT = Path(__file__).resolve().parent.parent
PIXELFOX = [sys.executable, "-m", "pixelfox_cli"]
REDIS_URL = os.environ.get("PIXELFOX_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
MB = 1_000_000
MIB = 1 << 20
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

__all__ = [
    "CLOCK_TICKS",
    "MB",
    "MIB",
    "PIXELFOX",
    "REDIS_URL",
    "ROOT",
    "Child",
    "Processes",
    "cpu_seconds",
    "curl",
    "delete_keys",
    "free_port",
    "jpeg_head",
    "make_payload",
    "stored_images",
    "wait_port",
]

# The variant set a processed image has on disk (kind, format).
VARIANTS = [("thumb200", "jpg"), ("thumb200", "webp"), ("thumb400", "jpg"), ("thumb400", "webp")]
VARIANTS += [("medium", "jpg"), ("medium", "webp"), ("medium", "avif")]


def free_port() -> int:
    """A loopback port free right now (benchmarks run on an otherwise idle machine)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Processes:
    """The processes of one benchmark run; :meth:`stop_all` ends every one of them."""

    def __init__(self, log_dir: Path) -> None:
        self.supervisor = Supervisor(log_dir, log_dir / "bench.pids", should_stop=lambda: False)

    def start(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str],
        health_url: str | None = None,
        timeout: float = 60.0,
    ) -> Child:
        """Start ``argv`` with ``env`` on top of ours; wait for ``health_url`` to answer 200."""
        child = self.supervisor.start(name, argv, {**os.environ, **env}, ROOT)
        if health_url is not None:
            try:
                self.supervisor.wait_healthy(child, health_url, timeout)
            except ChildFailed as failed:
                raise RuntimeError(f"{failed}:\n{child.log_tail(40)}") from failed
        return child

    def stop_all(self) -> None:
        self.supervisor.stop_all()


def wait_port(port: int, timeout: float = 30.0) -> None:
    """Until something accepts connections on loopback ``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def jpeg_head(width: int = 640, height: int = 480) -> bytes:
    """A real, noisy JPEG: libvips has something to verify."""
    import pyvips  # only the payload needs libvips

    image = pyvips.Image.gaussnoise(width, height, mean=128, sigma=30).cast("uchar")
    return bytes(image.jpegsave_buffer(Q=85))


def make_payload(path: Path, size: int, head: bytes | None = None) -> None:
    """A JPEG followed by random bytes up to ``size`` (a phone's "motion photo")."""
    head = jpeg_head() if head is None else head
    block = os.urandom(MIB)
    with path.open("wb") as f:
        f.write(head)
        left = size - len(head)
        while left > 0:
            f.write(block[: min(left, len(block))])
            left -= len(block)


def cpu_seconds(*pids: int) -> float:
    """User + system CPU so far of these processes, all their threads."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / CLOCK_TICKS


def curl(args: list[str]) -> tuple[float, int, str]:
    """Run curl; (seconds, HTTP status, body)."""
    out = subprocess.run(
        ["curl", "-s", "-S", "-w", "\n%{http_code} %{time_total}", *args],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    body, _, tail = out.rpartition("\n")
    status, seconds = tail.split()
    return float(seconds), int(status), body


def delete_keys(prefix: str) -> None:
    """Every Redis key under ``prefix:`` (a benchmark's own prefix)."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(f"{prefix}:*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
    finally:
        client.close()


async def stored_images(
    pool: Any,
    owner: Any,
    count: int,
    *,
    original_bytes: tuple[int, int],
    variant_bytes: tuple[int, int],
) -> list[Path]:
    """``count`` ready images on ``pool`` as the node stores them: every file; rows too.

    Each image has an original and the seven variants of :data:`VARIANTS`, their
    sizes drawn from the (low, high) ranges, their bytes cut from one random block
    and their SHA-256 in the rows. Needs an initialised database; one transaction.
    """
    from tortoise.transactions import in_transaction

    from pixelfox_app.models import Image, ImageState, ImageVariant

    base = Path(pool.base_path)
    day = datetime.now(UTC).strftime("%Y/%m/%d")
    block = os.urandom(max(original_bytes[1], variant_bytes[1]) * 2)
    files: list[Path] = []

    def write(rel: str, sizes: tuple[int, int]) -> tuple[int, str]:
        size = random.randint(*sizes)
        start = random.randrange(0, len(block) - size)
        data = block[start : start + size]
        full = base / rel
        full.parent.mkdir(parents=True, exist_ok=True)
        full.write_bytes(data)
        files.append(full)
        return size, hashlib.sha256(data).hexdigest()

    async with in_transaction():
        for _ in range(count):
            image_uuid = str(uuid.uuid4())
            rel = f"original/{day}/{image_uuid}.jpg"
            size, digest = write(rel, original_bytes)
            image = await Image.create(
                uuid=image_uuid,
                short_id=uuid.uuid4().hex[:10],
                owner=owner,
                pool=pool,
                path=rel,
                size=size,
                sha256=digest,
                mime="image/jpeg",
                state=ImageState.READY,
            )
            rows = []
            for kind, fmt in VARIANTS:
                vrel = f"variants/{day}/{image_uuid}_{kind}.{fmt}"
                vsize, vdigest = write(vrel, variant_bytes)
                rows.append(
                    ImageVariant(
                        image=image,
                        pool=pool,
                        kind=kind,
                        format=fmt,
                        path=vrel,
                        size=vsize,
                        sha256=vdigest,
                        width=1,
                        height=1,
                    )
                )
            await ImageVariant.bulk_create(rows)
    return files
