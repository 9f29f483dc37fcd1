"""Job pickup latency on an idle node worker: arq's default poll_delay vs the fresh lane's.

A real node worker (``pixelfox worker --lane fresh``) runs as a subprocess
with our lane settings, once with arq's default ``poll_delay`` (0.5 s) and
once with ours. This process enqueues ``ping`` jobs one at a time at random
moments and reads, from each job's result, the time between enqueue and
start. A second figure drains 100 queued pings: with short jobs a worker
starts new ones only when it polls, so a lane's rate is capped near
``max_jobs / poll_delay``.

Goal (issue 4): pickup <= 100 ms on an idle worker.

    .venv/bin/python bench/job_latency.py [-n SAMPLES]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from arq.connections import ArqRedis, RedisSettings, create_pool

from pixelfox_protocol.jobs import SERIALIZERS

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("PIXELFOX_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
NODE = "bench"


def start_worker(prefix: str, poll_delay: float | None, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PIXELFOX_NODE_ID": NODE,
        "PIXELFOX_REDIS_URL": REDIS_URL,
        "PIXELFOX_REDIS_PREFIX": prefix,
        "PIXELFOX_NODE_POOLS": "1=/nonexistent",
        "PIXELFOX_WORKER_METRICS_BIND": "off",
        "PIXELFOX_LOG_LEVEL": "WARNING",
    }
    if poll_delay is not None:
        env["PIXELFOX_BENCH_POLL_DELAY"] = str(poll_delay)
    code = (
        "import os, sys\n"
        "from pixelfox_storage.node_worker import lanes\n"
        "original = lanes.node_worker_settings\n"
        "def patched(settings, lane):\n"
        "    kwargs = original(settings, lane)\n"
        "    if 'PIXELFOX_BENCH_POLL_DELAY' in os.environ:\n"
        "        kwargs['poll_delay'] = float(os.environ['PIXELFOX_BENCH_POLL_DELAY'])\n"
        "    return kwargs\n"
        "lanes.node_worker_settings = patched\n"
        "import pixelfox_storage.node_worker.runner as runner\n"
        "runner.node_worker_settings = patched\n"
        "from pixelfox_cli.main import main\n"
        "sys.argv = ['pixelfox', 'worker', '--node', 'bench', '--lane', 'fresh']\n"
        "main()\n"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code],
        env={**env, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


async def wait_polling(redis: ArqRedis, queue: str) -> None:
    deadline = time.monotonic() + 30
    while not await redis.exists(f"{queue}:health-check"):
        if time.monotonic() > deadline:
            raise RuntimeError("worker did not start")
        await asyncio.sleep(0.05)


async def pickups(redis: ArqRedis, queue: str, prefix: str, samples: int) -> list[float]:
    """Seconds from enqueue to start, for pings sent one at a time at random moments."""
    out = []
    for i in range(samples):
        await asyncio.sleep(random.uniform(0, 0.6))  # land anywhere in the poll cycle
        job = await redis.enqueue_job("ping", _job_id=f"{prefix}:ping:{i}", _queue_name=queue)
        assert job is not None
        await job.result(timeout=10, poll_delay=0.01)
        info = await job.result_info()
        assert info is not None
        out.append((info.start_time - info.enqueue_time).total_seconds())
    return out


async def drain(redis: ArqRedis, queue: str, prefix: str, count: int) -> float:
    """Jobs per second through one idle worker with ``count`` pings queued at once."""
    started = time.monotonic()
    jobs = [
        await redis.enqueue_job("ping", _job_id=f"{prefix}:drain:{i}", _queue_name=queue)
        for i in range(count)
    ]
    for job in jobs:
        assert job is not None
        await job.result(timeout=120, poll_delay=0.05)
    return count / (time.monotonic() - started)


async def measure(poll_delay: float | None, samples: int, tmp: Path) -> tuple[list[float], float]:
    prefix = f"pfbench-{uuid.uuid4().hex[:8]}"
    queue = f"{prefix}:node:{NODE}"
    redis = await create_pool(RedisSettings.from_dsn(REDIS_URL), **SERIALIZERS)
    worker = start_worker(prefix, poll_delay, tmp / f"worker-{poll_delay}.log")
    try:
        await wait_polling(redis, queue)
        latencies = await pickups(redis, queue, prefix, samples)
        rate = await drain(redis, queue, prefix, 100)
    finally:
        worker.terminate()
        worker.wait(15)
        keys = [k async for k in redis.scan_iter(f"*{prefix}*", count=1000)]
        for start in range(0, len(keys), 1000):
            await redis.delete(*keys[start : start + 1000])
        await redis.aclose()
    return latencies, rate


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--samples", type=int, default=40)
    args = parser.parse_args()
    from pixelfox_storage.config import StorageSettings
    from pixelfox_storage.node_worker.lanes import node_worker_settings

    fresh = node_worker_settings(StorageSettings(node_id=NODE), "fresh")
    ours = fresh["poll_delay"]
    print(f"pickup latency, {args.samples} pings each, one idle fresh-lane worker")
    print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)\n")
    rows = {}
    with tempfile.TemporaryDirectory(prefix="pf-bench-") as tmp:
        for label, delay in (("arq default 0.5 s", 0.5), (f"ours {ours} s", None)):
            rows[label] = await measure(delay, args.samples, Path(tmp))
    base = statistics.mean(rows["arq default 0.5 s"][0])
    print(f"{'poll_delay':18} {'mean ms':>8} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} "
          f"{'vs default':>10} {'drain jobs/s':>13}")  # fmt: skip
    for label, (lat, rate) in rows.items():
        print(
            f"{label:18} {1000 * statistics.mean(lat):8.1f} {1000 * statistics.median(lat):7.1f} "
            f"{1000 * p95(lat):7.1f} {1000 * max(lat):7.1f} {base / statistics.mean(lat):9.1f}x "
            f"{rate:13.0f}"
        )
    print(f"\nfresh lane max_jobs={fresh['max_jobs']}; goal: pickup <= 100 ms on an idle worker")


if __name__ == "__main__":
    asyncio.run(main())
