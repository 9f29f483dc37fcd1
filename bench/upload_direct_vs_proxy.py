"""Direct-to-storage vs proxy upload on the same box: client time and the app's CPU.

One command, prints a table with ratios:

    .venv/bin/python bench/upload_direct_vs_proxy.py           # ~1 minute
    .venv/bin/python bench/upload_direct_vs_proxy.py --quick   # fewer rounds

What runs (loopback, real processes): the control app (``serve-app``, SQLite,
real Redis under its own key prefix, deleted after) and one storage node
(``serve-storage``) whose pool directory exists on this host, so the app can
take proxy uploads into the very same pool. curl is the client in both modes:

- direct: ``POST /api/v1/upload/sessions`` on the app, then the multipart
  upload to the node (which reports completion to the app) — the seed's flow;
- proxy: one multipart ``POST /api/v1/upload`` to the app.

Both paths run the same ingest code (SHA-256, sniffing, libvips check, fsync).
On one box the direct path pays an extra request and the node→app completion
call; what it buys shows in the second figure: the app's CPU seconds per
upload, which the direct path keeps flat whatever the file size (the app never
touches the bytes) while the proxy path grows with them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402
from pixelfox_app import knobs  # noqa: E402
from pixelfox_app.auth.passwords import hash_password  # noqa: E402
from pixelfox_app.auth.tokens import create_api_token  # noqa: E402
from pixelfox_app.db import close_db, init_db  # noqa: E402
from pixelfox_app.dbschema import migrate  # noqa: E402
from pixelfox_app.models import StoragePool, User  # noqa: E402
from pixelfox_app.nodes import register_node  # noqa: E402
from pixelfox_protocol.internal import UPLOAD_PATH  # noqa: E402
from pixelfox_protocol.tokens import new_signing_key  # noqa: E402


async def prepare(database_url: str, pool_dir: Path, node_url: str) -> tuple[str, str]:
    """Schema, a user with an API token, node s01 and its pool; (api token, credential)."""
    await migrate(database_url)
    await init_db(database_url)
    try:
        user = await User.create(username="bench", password_hash=hash_password("x"))
        token = await create_api_token(user, "bench")
        credential = await register_node("s01")
        await StoragePool.create(
            name="s01",
            node_id="s01",
            base_path=str(pool_dir),
            public_base_url=node_url,
            upload_api_url=node_url + UPLOAD_PATH,
            reserve_bytes=0,
        )
        for key, value in (
            ("max_upload_bytes", 1 << 30),
            ("upload_rate_limit_per_minute", 0),
            ("upload_user_rate_limit_per_minute", 0),
        ):
            await knobs.put(key, value)
    finally:
        await close_db()
    return token, credential


async def set_direct(database_url: str, on: bool) -> None:
    await init_db(database_url)
    try:
        await knobs.put("direct_upload", on)
    finally:
        await close_db()


def run(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="pfbench-"))
    prefix = f"pfbench-{uuid.uuid4().hex[:8]}"
    database_url = f"sqlite://{work / 'app.sqlite3'}"
    pool_dir = work / "pool"
    pool_dir.mkdir()
    app_port, node_port = harness.free_port(), harness.free_port()
    app_url, node_url = f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{node_port}"
    token, credential = asyncio.run(prepare(database_url, pool_dir, node_url))
    signing, public = new_signing_key()
    common = {
        "PIXELFOX_REDIS_URL": harness.REDIS_URL,
        "PIXELFOX_REDIS_PREFIX": prefix,
        "PIXELFOX_METRICS_BIND": "off",
        "PIXELFOX_LOG_LEVEL": "WARNING",
    }
    auth = ["-H", f"Authorization: Bearer {token}"]
    processes = harness.Processes(work / "logs")
    try:
        app = processes.start(
            "app",
            [*harness.PIXELFOX, "serve-app", "--bind", f"127.0.0.1:{app_port}"],
            {
                **common,
                "PIXELFOX_DATABASE_URL": database_url,
                "PIXELFOX_PUBLIC_DOMAIN": app_url,
                "PIXELFOX_SECRET_KEY": "bench-secret",
                "PIXELFOX_TOKEN_SIGNING_KEY": signing,
            },
            f"{app_url}/healthz",
        )
        processes.start(
            "s01",
            [*harness.PIXELFOX, "serve-storage", "--bind", f"127.0.0.1:{node_port}"],
            {
                **common,
                "PIXELFOX_NODE_ID": "s01",
                "PIXELFOX_NODE_CREDENTIAL": credential,
                "PIXELFOX_APP_URL": app_url,
                "PIXELFOX_TOKEN_PUBLIC_KEYS": public,
                "PIXELFOX_STATE_DIR": str(work / "state"),
            },
            f"{node_url}/healthz",
        )
        rows = []
        mb = harness.MB
        sizes = [(1 * mb, 6 if args.quick else 20), (20 * mb, 2 if args.quick else 5)]
        if not args.quick:
            sizes.append((100 * harness.MB, 3))
        for size, rounds in sizes:
            payload = work / f"payload-{size}.jpg"
            harness.make_payload(payload, size)
            figures: dict[str, tuple[float, float]] = {}
            for mode in ("direct", "proxy"):
                asyncio.run(set_direct(database_url, mode == "direct"))
                times, cpu = [], []
                for _ in range(rounds):
                    before = harness.cpu_seconds(app.pid)
                    started = time.perf_counter()
                    if mode == "direct":
                        _, status, body = harness.curl(
                            [
                                *auth,
                                "-H",
                                "Content-Type: application/json",
                                "-d",
                                json.dumps({"file_size": size}),
                                f"{app_url}/api/v1/upload/sessions",
                            ]
                        )
                        assert status == 201, body
                        session = json.loads(body)
                        _, status, body = harness.curl(
                            [
                                "-H",
                                f"Authorization: Bearer {session['token']}",
                                "-F",
                                f"file=@{payload}",
                                session["upload_url"],
                            ]
                        )
                    else:
                        _, status, body = harness.curl(
                            [*auth, "-F", f"file=@{payload}", f"{app_url}/api/v1/upload"]
                        )
                    assert status == 201, body
                    times.append(time.perf_counter() - started)
                    cpu.append(harness.cpu_seconds(app.pid) - before)
                    shutil.rmtree(pool_dir / "original", ignore_errors=True)
                figures[mode] = (statistics.median(times), statistics.median(cpu))
            rows.append((size, figures))
        print(
            f"\n{'size':>8} | {'direct s':>9} {'proxy s':>9} {'proxy/direct':>12} | "
            f"{'app CPU direct':>14} {'app CPU proxy':>13} {'proxy/direct':>12}"
        )
        for size, f in rows:
            (dt, dc), (pt, pc) = f["direct"], f["proxy"]
            print(
                f"{size // harness.MB:>6}MB | {dt:>9.3f} {pt:>9.3f} {pt / dt:>11.2f}x | "
                f"{dc:>13.3f}s {pc:>12.3f}s {pc / max(dc, 1 / harness.CLOCK_TICKS):>11.1f}x"
            )
        print(
            "\nmedians per upload; app CPU = utime+stime of the app process during it "
            f"(resolution {1 / harness.CLOCK_TICKS:.2f} s)"
        )
    finally:
        processes.stop_all()
        # Jobs still queued under our prefix keep their arq:job: keys outside it.
        client = redis.Redis.from_url(harness.REDIS_URL)
        for key in client.scan_iter(f"{prefix}:*", count=1000):
            if client.type(key) == b"zset":
                for job_id in client.zrange(key, 0, -1):
                    client.delete(b"arq:job:" + job_id)
        client.close()
        harness.delete_keys(prefix)
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, no 100 MB row")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
