"""Per-request cost of the observability layer (web.install: request id, access log, metrics).

One command, prints a table with ratios against a bare Quart app:

    .venv/bin/python bench/observability.py             # ~1 minute
    .venv/bin/python bench/observability.py --seconds 4 --rounds 2

Each variant runs as its own hypercorn process (one worker, the same server
settings as ``pixelfox serve-app``) with one trivial JSON route; ``wrk`` (Debian
package ``wrk``) drives it from one thread with 8 connections. Rounds alternate
the variants so a noisy neighbour hits all of them alike; the table shows
medians of req/s and of the server's CPU time per request (from /proc; a
steadier figure than req/s on a shared machine). Variants:

- ``bare``: Quart, no extension;
- ``schema``: Quart + QuartSchema as shipped (it builds a pydantic TypeAdapter
  for every JSON answer);
- ``schema-cached``: the same with ``pixelfox_common.web``'s TypeAdapter cache;
- ``install``: ``web.install`` (cache included) with JSON logs written to a
  file, metrics on;
- ``install-quiet``: the same at log level WARNING (no access line), to show
  what the line itself costs.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import Child, Processes, cpu_seconds, free_port  # noqa: E402

VARIANTS = ("bare", "schema", "schema-cached", "install", "install-quiet")


def build_app(variant: str, log_path: Path) -> object:
    from quart import Quart

    app = Quart(__name__)
    if variant.startswith("schema"):
        from quart_schema import QuartSchema

        if variant == "schema-cached":
            import pixelfox_common.web  # noqa: F401 - importing it caches TypeAdapters

        QuartSchema(app)
    elif variant.startswith("install"):
        from pixelfox_common import logs, web

        level = "WARNING" if variant == "install-quiet" else "INFO"
        logs.configure(service="bench", fmt="json", level=level, stream=log_path.open("a"))
        web.install(app, title="bench", version="0")

    @app.get("/api/v1/ping")
    async def ping() -> dict[str, bool]:
        return {"ok": True}

    return app


def serve(variant: str, port: int, log_path: Path) -> None:
    from pixelfox_cli.serve import run_hypercorn

    run_hypercorn(build_app(variant, log_path), f"127.0.0.1:{port}")


def drive(url: str, seconds: int) -> tuple[float, int]:
    """(requests per second, requests) over ``seconds``: wrk if installed, else httpx."""
    if shutil.which("wrk"):
        out = subprocess.run(
            ["wrk", "-t1", "-c8", f"-d{seconds}s", url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
        total = re.search(r"(\d+) requests in", out)
        if rate is None or total is None:
            raise RuntimeError(f"wrk said:\n{out}")
        return float(rate.group(1)), int(total.group(1))
    count, deadline = 0, time.monotonic() + seconds
    started = time.monotonic()
    with httpx.Client() as client:
        while time.monotonic() < deadline:
            client.get(url).raise_for_status()
            count += 1
    return count / (time.monotonic() - started), count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=6, help="length of one measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--log", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.log)
        return

    tmp = Path(tempfile.mkdtemp(prefix="pf-bench-obs-"))
    results: dict[str, list[float]] = {v: [] for v in VARIANTS}
    # Server CPU per request: what the layer costs, even when other load skews req/s.
    cpu_us: dict[str, list[float]] = {v: [] for v in VARIANTS}
    services: dict[str, tuple[Child, str]] = {}
    processes = Processes(tmp)
    try:
        for variant in VARIANTS:
            port = free_port()
            argv = [sys.executable, __file__, "--serve", variant, "--port", str(port)]
            argv += ["--log", str(tmp / f"{variant}.jsonl")]
            url = f"http://127.0.0.1:{port}/api/v1/ping"
            service = processes.start(variant, argv, {}, url)
            services[variant] = (service, url)
            drive(url, 1)  # warm up
        for round_no in range(args.rounds):
            order = VARIANTS if round_no % 2 == 0 else tuple(reversed(VARIANTS))
            for variant in order:
                service, url = services[variant]
                before = cpu_seconds(service.pid)
                rate, requests = drive(url, args.seconds)
                used = cpu_seconds(service.pid) - before
                results[variant].append(rate)
                cpu_us[variant].append(used / requests * 1e6)
    finally:
        processes.stop_all()

    base = statistics.median(results["bare"])
    base_cpu = statistics.median(cpu_us["bare"])
    header = ("variant", "req/s", "vs bare", "CPU µs/req", "vs bare", "req/s rounds")
    print("{:<15} {:>7} {:>8} {:>11} {:>8}   {}".format(*header))
    for variant in VARIANTS:
        median = statistics.median(results[variant])
        cpu = statistics.median(cpu_us[variant])
        rounds = ", ".join(f"{r:.0f}" for r in results[variant])
        print(
            f"{variant:<15} {median:>7.0f} {median / base:>7.2f}x {cpu:>11.0f} "
            f"{base_cpu / cpu:>7.2f}x   {rounds}"
        )
    lines = sum(1 for _ in (tmp / "install.jsonl").open())
    print(f"(install wrote {lines} access lines; logs in {tmp})")


if __name__ == "__main__":
    main()
