"""How long ``pixelfox up`` takes to be ready, and to stop: first start vs restart.

Each round runs ``pixelfox up`` on a fresh data dir (first start: secrets,
migrations from empty, admin, node, pool) and then again on the same data dir
(restart: everything already in place), timing from exec to the "Press
Ctrl-C" line and from SIGINT to exit. Also splits the first start into its
stages from the progress lines' arrival times. It uses the Redis on
127.0.0.1:6379 with a throw-away key prefix and free ports.

    .venv/bin/python bench/appliance_start.py [-r ROUNDS]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import delete_keys, free_port  # noqa: E402

READY = "Press Ctrl-C to stop."


def one_run(data_dir: Path, prefix: str) -> tuple[float, float, dict[str, float]]:
    """Seconds to ready, seconds to stop, and when each progress line came."""
    argv = [sys.executable, "-m", "pixelfox_cli", "up", "--data-dir", str(data_dir),
            "--app-port", str(free_port()), "--node-port", str(free_port()),
            "--redis-prefix", prefix, "--metrics-port", "0", "--no-install"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIXELFOX_")}
    started = time.monotonic()
    proc = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    marks: dict[str, float] = {}
    for line in proc.stdout:
        text = line.strip()
        key = text.split(":")[0] if ":" in text else text
        marks.setdefault(key, time.monotonic() - started)
        if text == READY:
            break
    else:
        raise SystemExit(f"pixelfox up exited before it was ready (exit {proc.wait()})")
    ready = time.monotonic() - started
    stopping = time.monotonic()
    proc.send_signal(signal.SIGINT)
    proc.stdout.read()
    if proc.wait(60) != 0:
        raise SystemExit("pixelfox up did not exit 0 on SIGINT")
    return ready, time.monotonic() - stopping, marks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-r", "--rounds", type=int, default=3)
    args = parser.parse_args()
    prefix = f"pfbench-{uuid.uuid4().hex[:8]}"
    first: list[tuple[float, float]] = []
    again: list[tuple[float, float]] = []
    stages: dict[str, list[float]] = {}
    try:
        for _ in range(args.rounds):
            with tempfile.TemporaryDirectory(prefix="pixelfox-bench-") as tmp:
                ready, stop, marks = one_run(Path(tmp) / "var", prefix)
                first.append((ready, stop))
                for key in ("database", "app", "node", "control-worker", READY):
                    if key in marks:
                        stages.setdefault(key, []).append(marks[key])
                again.append(one_run(Path(tmp) / "var", prefix)[:2])
    finally:
        delete_keys(prefix)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs, {args.rounds} rounds")
    print(f"{'':<14}{'ready s':>9}{'stop s':>9}")
    for name, runs in (("first start", first), ("restart", again)):
        ready = statistics.median(r for r, _ in runs)
        stop = statistics.median(s for _, s in runs)
        print(f"{name:<14}{ready:>9.2f}{stop:>9.2f}")
    ratio = statistics.median(r for r, _ in again) / statistics.median(r for r, _ in first)
    print(f"restart / first start (ready): {ratio:.2f}x")
    print("first start, median seconds until the first line of each stage:")
    for key, values in stages.items():
        print(f"  {key:<22}{statistics.median(values):>7.2f}")


if __name__ == "__main__":
    main()
