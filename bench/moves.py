"""A move of many small images between two pools of one node, against ``rsync -a --fsync``.

A pool is filled with small images in the layout (an original of 8-40 KB and
seven variants of 1-6 KB each, about the appliance's own thumbnails of small
photos), their rows in a migrated SQLite database. The single-host stack runs
as real processes: ``serve-app``, ``control-worker``, one ``serve-storage`` and
its ``pixelfox worker``. In the same run, with every file in the page cache
and the disk's dirty pages written out before each contender:

- ``rsync -a --fsync``: the source pool's files into an empty folder (one
  fsync per file, none per directory);
- ``move``: ``POST /api/v1/admin/moves`` from the source pool to the second
  pool, timed until the move is ``done`` (copied, hashed, rows switched,
  source copies deleted);
- ``rsync -a``: the same without fsync, the copy's floor without durability.

It also measures the disk's fsync floor: small files written and fsynced one
after another, and by eight threads at once (the journal commits concurrent
fsyncs together).

Goal (issue 14): move >= 1.0x ``rsync -a --fsync`` in images/s.

    .venv/bin/python bench/moves.py [--images N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

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


async def fill(
    database_url: str, source_dir: Path, target_dir: Path, node_url: str, images: int
) -> tuple[str, str]:
    """Rows and files of ``images`` images on the source pool; (node credential, admin token)."""
    from pixelfox_app.auth.tokens import create_api_token
    from pixelfox_app.db import close_db, init_db
    from pixelfox_app.dbschema import migrate
    from pixelfox_app.models import StoragePool, User
    from pixelfox_app.nodes import register_node
    from pixelfox_protocol.internal import UPLOAD_PATH

    await migrate(database_url)
    await init_db(database_url)
    try:
        credential = await register_node(NODE, f"{NODE}.pixelfox.test")
        pools = []
        for name, folder in (("bench-source", source_dir), ("bench-target", target_dir)):
            folder.mkdir(parents=True)
            pool = await StoragePool.create(
                name=name,
                node_id=NODE,
                base_path=str(folder),
                public_base_url=node_url,
                upload_api_url=node_url + UPLOAD_PATH,
                reserve_bytes=0,
            )
            pools.append(pool)
        source = pools[0]
        admin = await User.create(username="admin", password_hash="x", is_admin=True)
        token = await create_api_token(admin, "bench")
        await stored_images(
            source, admin, images, original_bytes=(8_000, 40_000), variant_bytes=(1_000, 6_000)
        )
        return credential, token
    finally:
        await close_db()


def settle() -> None:
    """Write the dirty pages out, so no contender pays for the one before."""
    os.sync()


def rsync(source: Path, target: Path, *options: str) -> float:
    settle()
    started = time.perf_counter()
    subprocess.run(["rsync", "-a", *options, f"{source}/", f"{target}/"], check=True)
    took = time.perf_counter() - started
    shutil.rmtree(target)
    return took


def fsync_floor(folder: Path, count: int, threads: int) -> float:
    """Seconds per small file written and fsynced, ``threads`` writers at once."""
    folder.mkdir()
    data = os.urandom(4000)

    def one(n: int) -> None:
        fd = os.open(folder / f"f{n}", os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)

    settle()
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(count)))
    took = time.perf_counter() - started
    shutil.rmtree(folder)
    return took / count


def wait_for_pools(prefix: str, within: float = 60) -> None:
    import redis

    from pixelfox_protocol.keys import RedisKeys

    key = RedisKeys(prefix).node_heartbeat(NODE)
    client = redis.Redis.from_url(REDIS_URL)
    deadline = time.monotonic() + within
    try:
        while time.monotonic() < deadline:
            raw = client.get(key) or b""
            if raw.count(b'"pool_id"') >= 2:
                return
            time.sleep(0.2)
    finally:
        client.close()
    raise RuntimeError("the node never reported its pools")


def move(app_url: str, token: str, images: int) -> tuple[float, dict[str, object]]:
    """Seconds from the start of the move until it is done, and its final counters."""
    headers = {"Authorization": f"Bearer {token}"}
    settle()
    with httpx.Client(base_url=app_url, headers=headers, timeout=30) as client:
        started = time.perf_counter()
        answer = client.post(
            "/api/v1/admin/moves", json={"source": "bench-source", "target": "bench-target"}
        )
        answer.raise_for_status()
        move_id = answer.json()["id"]
        # Ample for the slowest engine this has measured (14 images/s).
        deadline = started + 60 + images / 5
        while True:
            body: dict[str, object] = client.get(f"/api/v1/admin/moves/{move_id}").json()
            if body["state"] in ("done", "failed", "cancelled"):
                return time.perf_counter() - started, body
            if time.perf_counter() > deadline:
                raise RuntimeError(f"move stuck: {body}")
            time.sleep(0.05)


def batch_phases(log: Path) -> dict[str, float]:
    """Seconds the node worker's batches spent copying, switching and deleting, summed."""
    sums = {"copy_s": 0.0, "switch_s": 0.0, "remove_s": 0.0}
    for line in log.read_text(errors="replace").splitlines():
        if "batch moved" not in line:
            continue
        for name in sums:
            found = re.search(rf"\b{name}=([0-9.]+)", line)
            if found:
                sums[name] += float(found.group(1))
    return sums


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=10_000)
    args = parser.parse_args()
    from pixelfox_protocol.tokens import new_signing_key

    prefix = f"pfbench-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="pf-bench-moves-", dir="/var/tmp") as tmp_name:
        tmp = Path(tmp_name)
        database_url = f"sqlite://{tmp / 'pixelfox.sqlite3'}"
        source_dir, target_dir = tmp / "pool-source", tmp / "pool-target"
        app_port, node_port = free_port(), free_port()
        app_url, node_url = f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{node_port}"
        credential, token = asyncio.run(
            fill(database_url, source_dir, target_dir, node_url, args.images)
        )
        files = [p for p in source_dir.rglob("*") if p.is_file()]
        total = sum(p.stat().st_size for p in files)
        signing_key, public_key = new_signing_key()
        app_env = {
            "PIXELFOX_DATABASE_URL": database_url,
            "PIXELFOX_REDIS_URL": REDIS_URL,
            "PIXELFOX_REDIS_PREFIX": prefix,
            "PIXELFOX_DATA_DIR": str(tmp / "data"),
            "PIXELFOX_PUBLIC_DOMAIN": app_url,
            "PIXELFOX_SECRET_KEY": "bench-secret-key-0123456789",
            "PIXELFOX_TOKEN_SIGNING_KEY": signing_key,
            "PIXELFOX_LINK_SECRET": "bench-link-secret-0123456789",
            "PIXELFOX_METRICS_BIND": "off",
            "PIXELFOX_WORKER_METRICS_BIND": "off",
        }
        node_env = {
            "PIXELFOX_NODE_ID": NODE,
            "PIXELFOX_NODE_CREDENTIAL": credential,
            "PIXELFOX_APP_URL": app_url,
            "PIXELFOX_REDIS_URL": REDIS_URL,
            "PIXELFOX_REDIS_PREFIX": prefix,
            "PIXELFOX_STATE_DIR": str(tmp / "node"),
            "PIXELFOX_TOKEN_PUBLIC_KEYS": public_key,
            "PIXELFOX_HEARTBEAT_SECONDS": "1",
            "PIXELFOX_METRICS_BIND": "off",
            "PIXELFOX_WORKER_METRICS_BIND": "off",
        }
        processes = Processes(tmp)
        try:
            processes.start(
                "app",
                [*PIXELFOX, "serve-app", "--bind", f"127.0.0.1:{app_port}"],
                app_env,
                f"{app_url}/healthz",
            )
            processes.start(
                "storage",
                [*PIXELFOX, "serve-storage", "--bind", f"127.0.0.1:{node_port}"],
                node_env,
                f"{node_url}/healthz",
            )
            worker = processes.start("worker", [*PIXELFOX, "worker", "--node", NODE], node_env)
            processes.start("control", [*PIXELFOX, "control-worker"], app_env)
            wait_for_pools(prefix)
            floor_one = fsync_floor(tmp / "fsync-1", 2000, 1)
            floor_eight = fsync_floor(tmp / "fsync-8", 2000, 8)
            plain = [rsync(source_dir, tmp / "rsync", "--fsync")]
            bare = rsync(source_dir, tmp / "rsync")
            ours, counters = move(app_url, token, args.images)
            # Once more from where the files are now, so rsync gets two tries too.
            plain.append(rsync(target_dir, tmp / "rsync", "--fsync"))
            phases = batch_phases(worker.log_path)
        finally:
            processes.stop_all()
            delete_keys(prefix)
    assert counters["state"] == "done" and counters["done"] == args.images, counters
    base = statistics.median(plain)
    print(
        f"move vs rsync: {args.images} images, {len(files)} files, {total / MB:.0f} MB, "
        f"one node, two pools on one disk"
    )
    print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)\n")
    header = f"{'contender':20} {'seconds':>8} {'images/s':>9} {'files/s':>8} {'MB/s':>6}"
    print(f"{header} {'ratio':>7}")
    for label, seconds in (("rsync -a --fsync", base), ("move", ours), ("rsync -a", bare)):
        print(
            f"{label:20} {seconds:8.2f} {args.images / seconds:9.0f} {len(files) / seconds:8.0f} "
            f"{total / seconds / MB:6.1f} {base / seconds:6.2f}x"
        )
    print(
        f"\nfsync floor: {floor_one * 1000:.2f} ms per small file alone, "
        f"{floor_eight * 1000:.2f} ms with 8 writers at once"
    )
    print(
        "the move's batches: "
        + ", ".join(f"{name[:-2]} {seconds:.1f} s" for name, seconds in phases.items())
        + " (deletes overlap the next copies)"
    )
    print(f"goal: move >= 1.00x rsync -a --fsync; reached {base / ours:.2f}x")


if __name__ == "__main__":
    main()
