"""A 200 MB upload to a storage node over tus (8 MiB chunks) vs one single POST, same run.

One command, prints a table with ratios:

    .venv/bin/python bench/tus_ingest.py             # ~1 minute
    .venv/bin/python bench/tus_ingest.py --runs 1    # quicker, noisier

What runs (loopback, real processes): the storage service of
``bench/upload_ingest.py`` (``pixelfox serve-storage``, a pool in a temp dir,
real Redis with its own key prefix, a tiny "app" that accepts completions, so
uploads end in 201 like production), talked to directly. curl is the client
of every row and reads the same bytes from the page cache:

- single POST: the seed's ``curl -F file=@…`` to ``/api/internal/upload``;
- tus, 8 MiB chunks: a creation, then one PATCH per 8 MiB on one kept-alive
  connection (``curl --next``), as a browser's tus client sends them; each
  chunk is fdatasync'd before its answer, the last one is judged and committed
  like the single POST;
- tus, one PATCH: the whole file in one request (tus-js-client's default),
  for the cost of the chunking alone.

Each row runs uncapped, and again with curl held to 125 MB/s (1 Gbit/s) — the
client's link, paced by curl, not the lab's ``tc`` cap (which needs a lab of
network namespaces, see bench/scaling.py); loopback has no round-trip time, so
a real link adds one round trip per chunk on top (25 for 200 MB). Rounds are
interleaved so load drifts hit every row alike; the median counts. The
ratio is tus's throughput over the single POST's (goal: ≥ 0.9 at 1 Gbit/s).

Last, what a node restart costs a resumable upload: the running SHA-256
cannot be saved (hashlib's state does not pickle), so the node hashes the
on-disk prefix again once (``upload.tus.digests``); the row times exactly that
code on the payload.
"""

from __future__ import annotations

import argparse
import os
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

from bench.harness import (  # noqa: E402
    MB,
    MIB,
    cpu_seconds,
    curl,
    make_payload,
)
from bench.upload_ingest import Bench  # noqa: E402
from pixelfox_protocol.internal import TUS_PATH, UPLOAD_PATH  # noqa: E402
from pixelfox_storage.upload.tus.digests import prefix_sha256  # noqa: E402

CHUNK = 8 * MIB
GIGABIT = ["--limit-rate", "125M"]  # curl's unit is bytes per second
# Bodies go out at once, as browsers send them: curl would first ask the server
# (Expect: 100-continue) and wait for its go-ahead, a round trip per chunk.
NO_EXPECT = ["-H", "Expect:"]


class Node:
    """The storage service of ``bench/upload_ingest.py`` (its nginx stay idle here)."""

    def __init__(self, work: Path) -> None:
        self.bench = Bench(work)
        self.child = self.bench.node
        self.url = self.bench.upload_url.removesuffix(UPLOAD_PATH)

    def close(self) -> None:
        self.bench.close()

    def token(self, size: int) -> str:
        return self.bench.token(size)

    def clear(self) -> None:
        self.bench.clear_pool()
        shutil.rmtree(self.bench.pool / ".incoming" / "tus", ignore_errors=True)


def single_post(node: Node, payload: Path, pace: list[str]) -> int:
    token = node.token(payload.stat().st_size)
    auth = f"Authorization: Bearer {token}"
    _, status, _ = curl(
        [*pace, *NO_EXPECT, "-H", auth, "-F", f"file=@{payload}", node.url + UPLOAD_PATH]
    )
    return status


def tus_upload(node: Node, payload: Path, chunks: list[Path], pace: list[str]) -> int:
    size = payload.stat().st_size
    token = node.token(size)
    tus = {"Tus-Resumable": "1.0.0", "Authorization": f"Bearer {token}"}
    created = httpx.post(
        node.url + TUS_PATH, headers={**tus, "Upload-Length": str(size)}, timeout=30
    )
    assert created.status_code == 201, created.text
    url = node.url + created.headers["Location"]
    args: list[str] = []
    offset = 0
    for chunk in chunks:
        if args:
            args.append("--next")  # the same connection; options start afresh
        args += [*pace, *NO_EXPECT, "-s", "-S", "-X", "PATCH", "-o", "/dev/null"]
        for name, value in {**tus, "Upload-Offset": str(offset)}.items():
            args += ["-H", f"{name}: {value}"]
        args += ["-H", "Content-Type: application/offset+octet-stream"]
        args += ["-T", str(chunk), url]  # streamed from the file (--data-binary reads it all first)
        offset += chunk.stat().st_size
    # The last transfer's status: the commit's answer.
    done = subprocess.run(["curl", *args, "-w", "%{http_code}"], capture_output=True, check=True)
    return int(done.stdout.decode()[-3:])


def split(payload: Path, folder: Path, size: int) -> list[Path]:
    data = payload.read_bytes()
    folder.mkdir(exist_ok=True)
    paths = []
    for n, start in enumerate(range(0, len(data), size)):
        path = folder / f"{n:04d}"
        path.write_bytes(data[start : start + size])
        paths.append(path)
    return paths


def rehash_row(payload: Path) -> tuple[str, str, str]:
    size = payload.stat().st_size
    fd = os.open(payload, os.O_RDONLY)
    try:
        best = min(_timed(lambda: prefix_sha256(fd, size)) for _ in range(3))
    finally:
        os.close(fd)
    return (
        "re-hash on resume after a restart",
        f"{best:.2f} s",
        f"{size / MB / best:.0f} MB/s: once per upload a restart cut, for its {size // MB} MB",
    )


def _timed(work: object) -> float:
    started = time.perf_counter()
    work()  # type: ignore[operator]
    return time.perf_counter() - started


def run(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="pf-bench-tus-"))
    node = Node(work)
    try:
        payload = work / "payload.jpg"
        make_payload(payload, args.size_mb * MB)
        size = payload.stat().st_size
        # Cut once, up front: the chunk files are read from the page cache like the payload.
        chunked = split(payload, work / "chunks", CHUNK)
        whole = split(payload, work / "whole", size)
        cases = {
            "single POST": lambda pace: single_post(node, payload, pace),
            "tus, 8 MiB chunks": lambda pace: tus_upload(node, payload, chunked, pace),
            "tus, one PATCH": lambda pace: tus_upload(node, payload, whole, pace),
        }
        wall: dict[tuple[str, str], list[float]] = {}
        cpu: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.runs):
            for link, pace in (("uncapped", []), ("1 Gbit/s", GIGABIT)):
                for name, upload in cases.items():
                    node.clear()
                    cpu_before = cpu_seconds(node.child.pid)
                    started = time.perf_counter()
                    status = upload(pace)
                    seconds = time.perf_counter() - started
                    assert status == 201, f"{name}: HTTP {status}"
                    wall.setdefault((link, name), []).append(seconds)
                    used = cpu_seconds(node.child.pid) - cpu_before
                    cpu.setdefault((link, name), []).append(used)
        rows = []
        for link in ("uncapped", "1 Gbit/s"):
            single = statistics.median(wall[(link, "single POST")])
            for name in cases:
                seconds = statistics.median(wall[(link, name)])
                ratio = "" if name == "single POST" else f"  {single / seconds:.2f}x single"
                rows.append(
                    (
                        f"{link}: {name}",
                        f"{size / MB / seconds:.0f} MB/s",
                        f"{seconds:.2f} s, node CPU {statistics.median(cpu[(link, name)]):.2f} s"
                        + ratio,
                    )
                )
        rows.append(rehash_row(payload))
    finally:
        node.close()
        shutil.rmtree(work, ignore_errors=True)
    width = max(len(r[0]) for r in rows)
    load = os.getloadavg()[0]
    title = f"tus vs single POST, {args.size_mb} MB: median of {args.runs} rounds"
    print(f"\n{title} (loopback, load {load:.1f})\n")
    for name, figure, note in rows:
        print(f"  {name:<{width}}  {figure:>10}  {note}")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
