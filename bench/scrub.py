"""Scrub rate with ``--hashes`` against ``sha256sum`` of the same files in the same run.

A pool is filled with real files in the layout (an original of 0.5-3 MB and
seven variants of 8-120 KB per image), and its rows go into a migrated SQLite
database behind a real ``serve-app`` (hypercorn). Then, alternating round by
round so neither side gets a warmer cache, with the files in the page cache
for both:

- ``sha256sum``: coreutils over the same files (``xargs -0 sha256sum``);
- ``scrub``: the node's scrub as ``pixelfox scrub --hashes`` runs it, in this
  process: the app's paged listing over HTTP, a stat and a SHA-256 of every
  file, compared with its row;
- ``scrub, capped``: the same with the bytes/s cap at a quarter of the
  uncapped rate (the cap must hold: rate <= cap).

Goal (issue 13): scrub >= 0.8x sha256sum's bytes/s. Both hash on one core; the
scrub's SHA-256 is OpenSSL's (hashlib), coreutils' its own unless it was built
with libcrypto, so on CPUs with SHA extensions the scrub may well be faster.

    .venv/bin/python bench/scrub.py [--images N] [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    MB,
    PIXELFOX,
    REDIS_URL,
    Processes,
    delete_keys,
    free_port,
    stored_images,
)

NODE = "bench"


async def fill(database_url: str, pool_dir: Path, images: int) -> tuple[str, int, list[Path]]:
    """Rows and files of ``images`` images; (node credential, pool id, every file)."""
    from pixelfox_app.db import close_db, init_db
    from pixelfox_app.dbschema import migrate
    from pixelfox_app.models import StoragePool, User
    from pixelfox_app.nodes import register_node

    await migrate(database_url)
    await init_db(database_url)
    try:
        credential = await register_node(NODE, f"{NODE}.pixelfox.test")
        pool = await StoragePool.create(name="bench-pool", node_id=NODE, base_path=str(pool_dir))
        user = await User.create(username="bench", password_hash="x")
        files = await stored_images(
            pool, user, images, original_bytes=(500_000, 3_000_000), variant_bytes=(8_000, 120_000)
        )
        return credential, pool.id, files
    finally:
        await close_db()


def sha256sum(files: list[Path]) -> float:
    listing = b"\0".join(str(f).encode() for f in files)
    started = time.perf_counter()
    subprocess.run(
        ["xargs", "-0", "sha256sum"], input=listing, stdout=subprocess.DEVNULL, check=True
    )
    return time.perf_counter() - started


async def scrub(settings: object, pool_id: int, pool_dir: Path, cap: int = 0) -> tuple[float, int]:
    """Seconds of one ``--hashes`` scrub of the pool, and the bytes it hashed."""
    from pixelfox_protocol.internal import PoolInfo
    from pixelfox_protocol.keys import RedisKeys
    from pixelfox_storage.appapi import AppAPI
    from pixelfox_storage.config import StorageSettings
    from pixelfox_storage.node_jobs.queue import connect
    from pixelfox_storage.processing import ImageLimits, parse_variants
    from pixelfox_storage.scrub.run import Scrubber, ScrubOptions

    assert isinstance(settings, StorageSettings)
    pool = PoolInfo(id=pool_id, name="bench", base_path=str(pool_dir), tier="hot", is_active=True)
    redis = await connect(settings.redis_url)
    try:
        async with AppAPI(settings) as api:
            worker = Scrubber(
                NODE,
                api,
                redis,
                RedisKeys(settings.redis_prefix),
                parse_variants("thumb200:200:jpg+webp,thumb400:400:jpg+webp,medium:1280:jpg+webp"),
                ImageLimits(),
                [],
            )
            started = time.perf_counter()
            report, _ = await worker.run(pool, ScrubOptions(hashes=True, bytes_per_second=cap))
            took = time.perf_counter() - started
    finally:
        await redis.aclose()
    assert report.fault_count == 0, report.faults
    return took, report.bytes_read


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=250)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from pixelfox_protocol.tokens import new_signing_key
    from pixelfox_storage.config import StorageSettings

    prefix = f"pfbench-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="pf-bench-scrub-") as tmp_name:
        tmp = Path(tmp_name)
        database_url = f"sqlite://{tmp / 'pixelfox.sqlite3'}"
        pool_dir = tmp / "pool"
        credential, pool_id, files = await fill(database_url, pool_dir, args.images)
        total = sum(f.stat().st_size for f in files)
        port = free_port()
        signing_key, _ = new_signing_key()
        env = {
            "PIXELFOX_DATABASE_URL": database_url,
            "PIXELFOX_REDIS_URL": REDIS_URL,
            "PIXELFOX_REDIS_PREFIX": prefix,
            "PIXELFOX_DATA_DIR": str(tmp / "data"),
            "PIXELFOX_PUBLIC_DOMAIN": f"http://127.0.0.1:{port}",
            "PIXELFOX_SECRET_KEY": "bench-secret-key-0123456789",
            "PIXELFOX_TOKEN_SIGNING_KEY": signing_key,
            "PIXELFOX_METRICS_BIND": "off",
            "PIXELFOX_LOG_LEVEL": "WARNING",
        }
        processes = Processes(tmp)
        try:
            processes.start(
                "app",
                [*PIXELFOX, "serve-app", "--bind", f"127.0.0.1:{port}"],
                env,
                f"http://127.0.0.1:{port}/healthz",
            )
            settings = StorageSettings(
                node_id=NODE,
                node_credential=credential,
                app_url=f"http://127.0.0.1:{port}",
                redis_url=REDIS_URL,
                redis_prefix=prefix,
                state_dir=tmp / "node",
            )
            sha256sum(files)  # both sides read from the page cache from here on
            plain, ours = [], []
            for _ in range(args.rounds):
                plain.append(sha256sum(files))
                took, hashed = await scrub(settings, pool_id, pool_dir)
                assert hashed == total, (hashed, total)
                ours.append(took)
            rate = total / statistics.median(ours)
            cap = int(rate / 4)
            capped, _ = await scrub(settings, pool_id, pool_dir, cap)
        finally:
            processes.stop_all()
            delete_keys(prefix)
    base = total / statistics.median(plain)
    print(
        f"scrub --hashes vs sha256sum: {args.images} images, {len(files)} files, "
        f"{total / MB:.0f} MB in the page cache, median of {args.rounds} rounds"
    )
    print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)\n")
    print(f"{'contender':22} {'seconds':>8} {'MB/s':>8} {'files/s':>8} {'vs sha256sum':>13}")
    rows = [
        ("sha256sum", statistics.median(plain)),
        ("scrub", statistics.median(ours)),
        (f"scrub, cap {cap / MB:.0f} MB/s", capped),
    ]
    for label, seconds in rows:
        print(
            f"{label:22} {seconds:8.2f} {total / seconds / MB:8.0f} {len(files) / seconds:8.0f} "
            f"{total / seconds / base:12.2f}x"
        )
    print(f"\ngoal: scrub >= 0.80x sha256sum; the cap holds: {total / capped <= cap * 1.02}")


if __name__ == "__main__":
    asyncio.run(main())
