"""Downloads: nginx plain vs nginx with signed links vs the storage service's own /uploads/.

One command, prints req/s side by side with ratios:

    .venv/bin/python bench/downloads.py                 # ~4 minutes
    .venv/bin/python bench/downloads.py --seconds 2 --rounds 1

Files of 1 KB, 100 KB and 2 MB lie in a temporary pool, once public
(``original/…``) and once private (``private/original/…``). nginx runs the
shipped site template (docs/nginx/pixelfox-storage.conf, one worker process);
the storage service runs as ``pixelfox serve-storage`` (one hypercorn worker)
with the same pool and link secrets. ``wrk`` (Debian package ``wrk``) drives
each target from one thread with 16 connections for ``--seconds``; without
wrk, an httpx/asyncio loop does (much slower itself, so only its ratios mean
anything). Rounds alternate the targets so a noisy neighbour hits all alike;
the tables show medians: req/s, and the server's CPU time per request (from
/proc: nginx's worker, the storage service's process), which a busy shared
machine disturbs far less than req/s. Goal: signed >= 0.95x plain on nginx.

Signed URLs are made by the app's signer (``pixelfox_app.images.signed_links``), as
users get them; every request is checked (a fixed URL, so the check's cost is
in every figure).
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
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    PIXELFOX,
    REDIS_URL,
    Processes,
    cpu_seconds,
    delete_keys,
    free_port,
)
from pixelfox_app.config import AppSettings  # noqa: E402
from pixelfox_app.images import signed_links  # noqa: E402
from pixelfox_protocol import links  # noqa: E402
from tests.serving.nginx import NginxSite  # noqa: E402

SIZES = {"1 KB": 1024, "100 KB": 100 * 1024, "2 MB": 2 * 1024 * 1024}
# The master link secrets; the node (nginx and the storage service) holds its own.
SECRET, PREVIOUS = "bench-link-secret", "bench-previous-secret"
NODE_ID = "s01"
CONNECTIONS = 16
_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_COUNT = re.compile(r"(\d+) requests in")


def nginx_workers(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(c) for c in children]


def make_pool(root: Path) -> dict[str, tuple[str, str]]:
    """size label → (public path, private path), pool-relative."""
    paths: dict[str, tuple[str, str]] = {}
    for label, size in SIZES.items():
        name = f"{uuid.uuid4()}.jpg"
        public = f"original/2026/11/27/{name}"
        private = f"private/original/2026/11/27/{name}"
        data = os.urandom(size)
        for rel in (public, private):
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data)
        paths[label] = (public, private)
    return paths


def signed_url(base: str, relative: str) -> str:
    uri = f"/uploads/{relative}"
    return signed_links.signed(base + uri, uri, AppSettings(link_secret=SECRET), NODE_ID)


def run_wrk(url: str, seconds: int) -> tuple[float, int]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "10s", url],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    ).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"{url} answered errors:\n{out}")
    rate, count = _RPS.search(out), _COUNT.search(out)
    if rate is None or count is None:
        raise RuntimeError(f"no figure in wrk output:\n{out}")
    return float(rate.group(1)), int(count.group(1))


async def _httpx_loop(url: str, seconds: float) -> tuple[float, int]:
    done = 0
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=CONNECTIONS)
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:

        async def worker() -> None:
            nonlocal done
            while time.monotonic() < deadline:
                response = await client.get(url)
                if response.status_code != 200:
                    raise RuntimeError(f"{url} answered {response.status_code}")
                done += 1

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
        return done / (time.monotonic() - started), done


def measure(url: str, seconds: int, pids: list[int]) -> tuple[float, float]:
    """(req/s, server CPU µs per request) of one target."""
    before = cpu_seconds(*pids)
    if shutil.which("wrk"):
        rate, count = run_wrk(url, seconds)
    else:
        rate, count = asyncio.run(_httpx_loop(url, seconds))
    return rate, (cpu_seconds(*pids) - before) / max(count, 1) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=3, help="per target and round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="pf-bench-downloads-"))
    pool = tmp / "pool"
    paths = make_pool(pool)
    prefix = f"pfbench-{uuid.uuid4().hex[:8]}"
    port = free_port()
    dev = f"http://127.0.0.1:{port}"
    processes = Processes(tmp / "logs")
    nginx = NginxSite(tmp / "nginx", pool, SECRET, PREVIOUS, upstream=f"127.0.0.1:{port}")
    results: dict[tuple[str, str], list[float]] = {}
    cpu: dict[tuple[str, str], list[float]] = {}
    try:
        storage = processes.start(
            "storage",
            [*PIXELFOX, "serve-storage", "--bind", f"127.0.0.1:{port}"],
            {
                "PIXELFOX_NODE_ID": NODE_ID,
                "PIXELFOX_NODE_POOLS": f"1={pool}",
                "PIXELFOX_REDIS_URL": REDIS_URL,
                "PIXELFOX_REDIS_PREFIX": prefix,
                "PIXELFOX_STATE_DIR": str(tmp / "state"),
                "PIXELFOX_LINK_SECRET": links.node_secret(SECRET, NODE_ID),
                "PIXELFOX_LINK_PREVIOUS_SECRET": links.node_secret(PREVIOUS, NODE_ID),
                "PIXELFOX_METRICS_BIND": "off",
                "PIXELFOX_LOG_LEVEL": "WARNING",
            },
            f"{dev}/healthz",
        )
        nginx.start()
        targets: dict[tuple[str, str], str] = {}
        for label, (public, private) in paths.items():
            targets[(label, "nginx plain")] = f"{nginx.url}/uploads/{public}"
            targets[(label, "nginx signed")] = signed_url(nginx.url, private)
            targets[(label, "dev plain")] = f"{dev}/uploads/{public}"
            targets[(label, "dev signed")] = signed_url(dev, private)
        for url in targets.values():  # every target answers 200 before anything is timed
            response = httpx.get(url, timeout=10)
            if response.status_code != 200:
                raise RuntimeError(f"{url} answered {response.status_code}")
        tool = "wrk" if shutil.which("wrk") else "httpx"
        print(f"{tool}, {CONNECTIONS} connections, {args.seconds:g} s x {args.rounds} rounds")
        assert nginx.service is not None and nginx.service.proc is not None
        servers = {
            "nginx": nginx_workers(nginx.service.proc.pid),
            "dev": [storage.pid],
        }
        for number in range(args.rounds):
            for key, url in targets.items():
                rate, cpu_us = measure(url, args.seconds, servers[key[1].split()[0]])
                results.setdefault(key, []).append(rate)
                cpu.setdefault(key, []).append(cpu_us)
            print(f"round {number + 1} done", file=sys.stderr)
    finally:
        nginx.stop()
        processes.stop_all()
        delete_keys(prefix)
        shutil.rmtree(tmp, ignore_errors=True)

    _table("req/s (higher is better)", results, higher=True)
    _table("server CPU µs per request (lower is better)", cpu, higher=False)
    print(
        "medians over rounds; ratios are medians of each round's own ratio (the two"
        " runs of a pair are back to back); dev = the storage service's own /uploads/"
    )


def _paired(runs: dict[tuple[str, str], list[float]], label: str, a: str, b: str) -> float:
    """Median over rounds of runs[b] / runs[a]: drift between rounds cancels out."""
    pairs = zip(runs[(label, a)], runs[(label, b)], strict=True)
    return statistics.median(y / x for x, y in pairs)


def _table(title: str, runs: dict[tuple[str, str], list[float]], *, higher: bool) -> None:
    """One table; ratios are "as good as plain nginx" factors (> 1 = better)."""
    print(f"\n{title}")
    header = (
        f"{'size':>7} | {'nginx plain':>11} | {'nginx signed':>12} | {'signed/plain':>12} |"
        f" {'dev plain':>9} | {'dev signed':>10} | {'dev/nginx':>9}"
    )
    print(header)
    print("-" * len(header))
    for label in SIZES:
        med = {kind: statistics.median(v) for (lab, kind), v in runs.items() if lab == label}
        signed_ratio = _paired(runs, label, "nginx plain", "nginx signed")
        dev_ratio = _paired(runs, label, "nginx plain", "dev plain")
        if not higher:
            signed_ratio, dev_ratio = 1 / signed_ratio, 1 / dev_ratio
        print(
            f"{label:>7} | {med['nginx plain']:>11.0f} | {med['nginx signed']:>12.0f} |"
            f" {signed_ratio:>11.2f}x | {med['dev plain']:>9.0f} | {med['dev signed']:>10.0f} |"
            f" {dev_ratio:>8.3f}x"
        )


if __name__ == "__main__":
    main()
