"""Upload ingest on a storage node vs nginx writing the same body to disk.

One command, prints a table with ratios:

    .venv/bin/python bench/upload_ingest.py            # ~1-2 minutes
    .venv/bin/python bench/upload_ingest.py --quick     # skips the 1 GiB run

What runs (all on loopback, real processes):

- a storage service (``pixelfox serve-storage``) with a pool in a temp dir, real
  Redis (own key prefix, deleted after), and a tiny HTTP "app" that accepts
  completions (so uploads end in 201, like production);
- nginx with WebDAV ``PUT`` into a temp dir (``client_max_body_size 0``);
- a second nginx running the shipped storage site (docs/nginx/pixelfox-storage.conf)
  in front of the node: it checks the token with the node (auth_request), spools
  the body into the pool's ``.spool/`` and hands the node the file (the path
  storage hosts use);
- curl as the client for both, reading the same file from the page cache.

Rows: a 100 MB multipart POST and a raw PUT into the node (SHA-256, type
sniffing, libvips check, fsync — everything a real upload does) vs nginx PUT
of the same bytes, interleaved round by round; the same two uploads through the
storage site's nginx (body spooled by nginx, file handed over; CPU is nginx's
worker plus the node; "followed k/n" counts the uploads the node's spool
follower hashed, or parsed, while nginx wrote them); the "floor": the same hypercorn
server with an ASGI app that only counts the body (what any Python node pays
before Quart, hashing and the disk); the "bound": SHA-256 of the payload in
memory, in this process (one core; a node hashes every upload, so no upload row
can beat it however much the hash overlaps nginx's write); peak RSS growth of the node during a
1 GiB upload streamed from a generator; a slow client (~1 MB/s for ~10 s)
beside a fast one, and /healthz latency meanwhile (event-loop lag). The
"paced" rows repeat nginx's PUT and the spooled uploads with curl held to
200 MiB/s, a client slower than SHA-256, as nearly all are: there the follower
can finish the hash while nginx still writes.

Besides MB/s, each row shows the server's CPU seconds per 100 MB (from
/proc): on a shared machine wall-clock ratios swing with the load, CPU cost
much less.

The payload is a small real JPEG followed by random bytes (like a phone's
"motion photo"): libvips verifies the JPEG, and the rest measures the pipe.
nginx does not fsync; the node does (the upload is durable when answered), so
the table shows the node's commit time (fsync of file and directory, link)
separately, for streamed and spooled bodies (from its log).
"""

from __future__ import annotations

import argparse
import hashlib
import http.server
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    MB,
    MIB,
    PIXELFOX,
    REDIS_URL,
    Processes,
    cpu_seconds,
    curl,
    delete_keys,
    free_port,
    jpeg_head,
    make_payload,
    wait_port,
)
from pixelfox_protocol.internal import UPLOAD_COMPLETE_PATH, UPLOAD_PATH  # noqa: E402
from pixelfox_protocol.tokens import UploadClaims, mint, new_signing_key  # noqa: E402
from tests.serving.nginx import NginxSite  # noqa: E402

SPOOL_SECRET = "bench-spool-secret"
# curl's pace for the "paced" rows: below SHA-256's speed on a CPU without SHA instructions.
PACED = ["--limit-rate", "200M"]


class FakeApp(http.server.BaseHTTPRequestHandler):
    """Accepts every completion with 201, as the control app would."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path != UPLOAD_COMPLETE_PATH:  # heartbeats and the like: not our business
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        answer = json.dumps(
            {
                "image_uuid": body["image_uuid"],
                "view_url": f"http://app.test/i/{body['image_uuid'][:8]}",
                "status_url": f"http://app.test/api/v1/image/status/{body['image_uuid']}",
            }
        ).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


NGINX_CONF = """
worker_processes 1;
daemon off;
user root;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body_temp;
    server {{
        listen 127.0.0.1:{port};
        location /dav/ {{
            root {dir}/www;
            dav_methods PUT;
            create_full_put_path on;
            client_max_body_size 0;
        }}
    }}
}}
"""


class Bench:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.pool = work / "pool"
        self.pool.mkdir()
        self.prefix = f"pfbench-{uuid.uuid4().hex[:8]}"
        self.private, public = new_signing_key()
        self.app_port = free_port()
        self.node_port = free_port()
        self.nginx_port = free_port()
        self.app_server = http.server.ThreadingHTTPServer(("127.0.0.1", self.app_port), FakeApp)
        threading.Thread(target=self.app_server.serve_forever, daemon=True).start()
        env = {
            "PIXELFOX_NODE_ID": "s01",
            "PIXELFOX_NODE_POOLS": f"1={self.pool}",
            "PIXELFOX_STATE_DIR": str(work / "state"),
            "PIXELFOX_TOKEN_PUBLIC_KEYS": public,
            "PIXELFOX_REDIS_URL": REDIS_URL,
            "PIXELFOX_REDIS_PREFIX": self.prefix,
            "PIXELFOX_APP_URL": f"http://127.0.0.1:{self.app_port}",
            "PIXELFOX_METRICS_BIND": "off",
            "PIXELFOX_LOG_FORMAT": "json",
            "PIXELFOX_SPOOL_SECRET": SPOOL_SECRET,
        }
        self.processes = Processes(work / "logs")
        self.node = self.processes.start(
            "storage",
            [*PIXELFOX, "serve-storage", "--bind", f"127.0.0.1:{self.node_port}"],
            env,
            f"http://127.0.0.1:{self.node_port}/healthz",
        )
        self.nginx_dir = work / "nginx"
        (self.nginx_dir / "www" / "dav").mkdir(parents=True)
        (self.nginx_dir / "body_temp").mkdir()
        conf = self.nginx_dir / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=self.nginx_dir, port=self.nginx_port))
        self.nginx = subprocess.Popen(
            ["nginx", "-p", str(self.nginx_dir), "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_port(self.nginx_port)
        # The storage site as Ansible installs it, in front of the node.
        self.site = NginxSite(
            directory=work / "site",
            pool_path=self.pool,
            secret="bench-link-secret",
            upstream=f"127.0.0.1:{self.node_port}",
            spool_secret=SPOOL_SECRET,
            max_upload_bytes=2 << 30,
        ).start()
        # The floor: the same server (hypercorn, same read size) with an app that
        # only counts the body. What the node costs above it is Quart + ingest.
        self.discard_port = free_port()
        self.discard = subprocess.Popen(
            [sys.executable, __file__, "--serve-discard", str(self.discard_port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_port(self.discard_port)

    def close(self) -> None:
        self.site.stop()
        self.processes.stop_all()
        if self.discard.poll() is None:
            self.discard.terminate()
            self.discard.wait(10)
        if self.nginx.poll() is None:
            os.killpg(self.nginx.pid, signal.SIGTERM)
            self.nginx.wait(10)
        self.app_server.shutdown()
        delete_keys(self.prefix)

    def token(self, max_size: int) -> str:
        claims = UploadClaims(
            node_id="s01",
            user_id=1,
            pool_id=1,
            session_id=str(uuid.uuid4()),
            jti=uuid.uuid4().hex,
            max_size=max_size,
            expires_at=int(time.time()) + 3600,
            image_uuid=str(uuid.uuid4()),
        )
        return mint(claims, self.private)

    @property
    def upload_url(self) -> str:
        return f"http://127.0.0.1:{self.node_port}{UPLOAD_PATH}"

    @property
    def spooled_url(self) -> str:
        return f"{self.site.url}{UPLOAD_PATH}"

    def clear_pool(self) -> None:
        shutil.rmtree(self.pool / "original", ignore_errors=True)
        shutil.rmtree(self.nginx_dir / "www" / "dav", ignore_errors=True)
        (self.nginx_dir / "www" / "dav").mkdir()

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.node.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def stored(self, body: str, form: str) -> list[dict]:
        """The node's "upload stored" records by body ("streamed", "spooled") and form."""
        lines = self.node.log_path.read_text(errors="replace").splitlines()
        records = [json.loads(line) for line in lines if '"upload stored"' in line]
        return [r for r in records if r.get("body") == body and r.get("form") == form]

    def commit_seconds(self, body: str, form: str) -> list[float]:
        return [float(r["commit_seconds"]) for r in self.stored(body, form)]


def stream_body(size: int) -> Iterator[bytes]:
    """A body produced on the fly: a JPEG, then the same random MiB again and again."""
    head = jpeg_head()
    yield head
    block = os.urandom(MIB)
    left = size - len(head)
    while left > 0:
        piece = block[: min(left, len(block))]
        yield piece
        left -= len(piece)


def raw_put(
    url: str, token: str, body: Iterator[bytes], size: int, pace: float = 0.0
) -> tuple[int, float]:
    """PUT a body over a plain socket (no client library buffering); (status, seconds)."""
    host, _, rest = url.removeprefix("http://").partition("/")
    hostname, _, port = host.partition(":")
    started = time.perf_counter()
    with socket.create_connection((hostname, int(port))) as sock:
        head = (
            f"PUT /{rest} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: image/jpeg\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n"
        )
        sock.sendall(head.encode())
        for chunk in body:
            sock.sendall(chunk)
            if pace:
                time.sleep(pace)
        answer = b""
        while True:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    status = int(answer.split(b" ", 2)[1])
    return status, time.perf_counter() - started


def slow_chunks(size: int, per_second: int) -> Iterator[bytes]:
    for chunk in stream_body(size):
        view = memoryview(chunk)
        while view:
            piece = view[: per_second // 16]
            yield bytes(piece)
            view = view[len(piece) :]


def nginx_worker(master: int) -> int:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return int(children[0])


class Sample:
    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def add(self, wall: float, cpu: float) -> None:
        self.wall.append(wall)
        self.cpu.append(cpu)

    @property
    def seconds(self) -> float:
        return statistics.median(self.wall)

    @property
    def cpu_per_run(self) -> float:
        return statistics.median(self.cpu)


def throughput_rows(bench: Bench, args: argparse.Namespace) -> list[tuple[str, str, str]]:
    """nginx, multipart and raw PUT, interleaved round by round so load drifts hit all alike."""
    size = args.size_mb * MB
    payload = bench.work / "payload.jpg"
    make_payload(payload, size)
    payload.read_bytes()  # into the page cache for every client alike
    assert bench.site.service is not None and bench.site.service.proc is not None
    node_pid, worker = bench.node.pid, nginx_worker(bench.nginx.pid)
    site_worker = nginx_worker(bench.site.service.proc.pid)
    nginx_url = f"http://127.0.0.1:{bench.nginx_port}/dav/payload.jpg"

    def multipart(url: str) -> list[str]:
        return [
            "-H",
            f"Authorization: Bearer {bench.token(size)}",
            "-F",
            f"file=@{payload};type=image/jpeg",
            url,
        ]

    def raw(url: str) -> list[str]:
        return [
            "-T",
            str(payload),
            "-H",
            f"Authorization: Bearer {bench.token(size)}",
            "-H",
            "Content-Type: image/jpeg",
            url,
        ]

    spooled = (site_worker, node_pid)
    jobs = {
        "nginx": ((worker,), lambda: ["-T", str(payload), nginx_url]),
        "multipart": ((node_pid,), lambda: multipart(bench.upload_url)),
        "raw": ((node_pid,), lambda: raw(bench.upload_url)),
        "spooled multipart": (spooled, lambda: multipart(bench.spooled_url)),
        "spooled raw": (spooled, lambda: raw(bench.spooled_url)),
        # A client slower than SHA-256 (most are): the hash can hide in nginx's write.
        "nginx, paced": ((worker,), lambda: [*PACED, "-T", str(payload), nginx_url]),
        "spooled multipart, paced": (spooled, lambda: [*PACED, *multipart(bench.spooled_url)]),
        "spooled raw, paced": (spooled, lambda: [*PACED, *raw(bench.spooled_url)]),
        "discard": (
            (bench.discard.pid,),
            lambda: ["-T", str(payload), f"http://127.0.0.1:{bench.discard_port}/"],
        ),
    }
    samples = {name: Sample() for name in [*jobs, "sha256"]}
    body = payload.read_bytes()
    for _ in range(args.runs):
        for name, (pids, argv) in jobs.items():
            bench.clear_pool()
            before = cpu_seconds(*pids)
            seconds, status, answer = curl(argv())
            if status not in (200, 201, 204):
                log = bench.node.log_tail(60)
                raise RuntimeError(f"{name}: HTTP {status} {answer[:300]}\n{log}")
            samples[name].add(seconds, cpu_seconds(*pids) - before)
        # Every upload is hashed; SHA-256 runs on one core, whatever overlaps it.
        started, cpu = time.perf_counter(), time.process_time()
        hashlib.sha256(body).hexdigest()
        samples["sha256"].add(time.perf_counter() - started, time.process_time() - cpu)
    base = samples["nginx"]

    def row(
        label: str, sample: Sample, goal: str, spooled: str = "", against: Sample = base
    ) -> tuple[str, str, str]:
        ratio = against.seconds / sample.seconds
        cpu = sample.cpu_per_run / (size / 1e8)
        cpu_ratio = sample.cpu_per_run / against.cpu_per_run
        note = f"{ratio:4.2f}x nginx {goal}; CPU {cpu:.2f} s/100 MB ({cpu_ratio:.1f}x nginx)"
        if spooled:
            # Whether the spool follower hashed (and parsed) the body while nginx wrote it.
            followed = [bool(r.get("followed")) for r in bench.stored("spooled", spooled)]
            note += f"; followed {sum(followed)}/{len(followed)}"
        return (label, f"{size / MB / sample.seconds:7.0f} MB/s", note)

    def commit_row(label: str, body: str, form: str, note: str) -> tuple[str, str, str]:
        commits = bench.commit_seconds(body, form)
        commit = statistics.median(commits) if commits else float("nan")
        share = commit / samples[f"spooled {form}" if body == "spooled" else form].seconds
        return (label, f"{commit * 1000:7.0f} ms", f"{share:.0%} of that upload's time; {note}")

    mb = args.size_mb
    return [
        row(f"nginx WebDAV PUT, {mb} MB", base, "(baseline)"),
        row(f"node multipart POST, {mb} MB", samples["multipart"], "(goal >= 0.5x)"),
        row(f"node raw PUT, {mb} MB", samples["raw"], "(goal >= 0.7x)"),
        row(
            f"nginx-spooled multipart, {mb} MB",
            samples["spooled multipart"],
            "(goal >= 0.5x)",
            "multipart",
        ),
        row(f"nginx-spooled raw, {mb} MB", samples["spooled raw"], "(goal >= 0.7x)", "raw"),
        row("  floor: hypercorn, body discarded", samples["discard"], "(no Quart, hash, disk)"),
        row("  bound: SHA-256 alone, in memory", samples["sha256"], "(no upload can beat it)"),
        row(
            f"client paced at {PACED[1]}iB/s: nginx PUT",
            samples["nginx, paced"],
            "(baseline below)",
        ),
        row(
            "  nginx-spooled multipart",
            samples["spooled multipart, paced"],
            "paced",
            against=samples["nginx, paced"],
        ),
        row(
            "  nginx-spooled raw",
            samples["spooled raw, paced"],
            "paced",
            against=samples["nginx, paced"],
        ),
        commit_row(
            "  streamed raw: fsync + link + dir fsync", "streamed", "raw", "nginx does not fsync"
        ),
        commit_row("  spooled multipart: the same", "spooled", "multipart", "nginx does not fsync"),
        commit_row(
            "  spooled raw: the same",
            "spooled",
            "raw",
            "its file fsync runs beside the hash (or the follower's tail)",
        ),
    ]


def rss_row(bench: Bench, args: argparse.Namespace) -> tuple[str, str, str]:
    """Peak RSS growth of the node while a body of --big-mib streams in from a generator."""
    bench.clear_pool()
    big = args.big_mib * MIB
    before = peak = bench.rss_kib()
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, bench.rss_kib())
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        status, seconds = raw_put(bench.upload_url, bench.token(big), stream_body(big), big)
    finally:
        done.set()
        sampler.join()
    if status != 201:
        raise RuntimeError(f"{args.big_mib} MiB upload: HTTP {status}\n{bench.node.log_tail(60)}")
    growth = (peak - before) / 1024
    note = f"goal <= 64 MB; {big / MB / seconds:.0f} MB/s from a Python socket client"
    return (f"node RSS growth, {args.big_mib} MiB PUT", f"{growth:7.1f} MB", note)


def slow_client_rows(bench: Bench, args: argparse.Namespace) -> list[tuple[str, str, str]]:
    """A ~1 MB/s client for --slow-seconds while a fast 100 MB multipart upload runs beside it."""
    bench.clear_pool()
    size = args.size_mb * MB
    payload = bench.work / "payload.jpg"
    slow_size = args.slow_seconds * MB
    slow: dict[str, float] = {}

    def trickle() -> None:
        status, seconds = raw_put(
            bench.upload_url,
            bench.token(slow_size),
            slow_chunks(slow_size, MB),
            slow_size,
            pace=1 / 16,
        )
        slow.update(status=status, seconds=seconds)

    # How long the event loop keeps others waiting: /healthz polled while idle, then
    # during the fast upload.
    latencies: list[float] = []
    stop = threading.Event()

    def poll() -> None:
        with httpx.Client(timeout=10) as client:
            while not stop.is_set():
                started = time.perf_counter()
                client.get(f"http://127.0.0.1:{bench.node_port}/healthz")
                latencies.append(time.perf_counter() - started)
                time.sleep(0.02)

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(2.0)
    idle = sorted(latencies)
    latencies.clear()
    thread = threading.Thread(target=trickle)
    thread.start()
    time.sleep(1.0)
    fast_seconds, fast_status, _ = curl(
        [
            "-H",
            f"Authorization: Bearer {bench.token(size)}",
            "-F",
            f"file=@{payload};type=image/jpeg",
            bench.upload_url,
        ]
    )
    stop.set()
    poller.join()
    thread.join()
    note = (
        f"took {slow['seconds']:.1f} s; the fast one beside it: HTTP {fast_status}, "
        f"{size / MB / fast_seconds:.0f} MB/s"
    )
    busy = sorted(latencies)

    def p95(values: list[float]) -> float:
        return values[int(len(values) * 0.95)] * 1000 if values else float("nan")

    return [
        (f"slow client ~1 MB/s, {args.slow_seconds} MB", f"HTTP {int(slow['status'])}", note),
        (
            "  /healthz p95 during the uploads",
            f"{p95(busy):7.1f} ms",
            f"idle before: {p95(idle):.1f} ms; max during: {busy[-1] * 1000:.1f} ms (loop lag)",
        ),
    ]


def run(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="pf-bench-"))
    bench = Bench(work)
    try:
        rows = throughput_rows(bench, args)
        if not args.quick:
            rows.append(rss_row(bench, args))
        rows += slow_client_rows(bench, args)
    finally:
        bench.close()
        shutil.rmtree(work, ignore_errors=True)
    width = max(len(r[0]) for r in rows)
    load = os.getloadavg()[0]
    print(
        f"\nUpload ingest: median of {args.runs} interleaved rounds (loopback, load {load:.1f})\n"
    )
    for name, figure, note in rows:
        print(f"  {name:<{width}}  {figure:>12}  {note}")
    print()


async def _discard_app(scope: dict, receive: object, send: object) -> None:
    """An ASGI app that reads a request body and answers its length."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()  # type: ignore[operator]
            done = message["type"] == "lifespan.shutdown"
            kind = "lifespan.shutdown.complete" if done else "lifespan.startup.complete"
            await send({"type": kind})  # type: ignore[operator]
            if done:
                return
    received, more = 0, True
    while more:
        message = await receive()  # type: ignore[operator]
        received += len(message.get("body", b""))
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
    await send({"type": "http.response.body", "body": str(received).encode()})  # type: ignore[operator]


def serve_discard(port: int) -> None:
    import asyncio

    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    from pixelfox_common.streambody import tune_hypercorn_reads

    tune_hypercorn_reads()
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    asyncio.run(serve(_discard_app, config))  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--big-mib", type=int, default=1024)
    parser.add_argument("--slow-seconds", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="skip the 1 GiB RSS run")
    parser.add_argument("--serve-discard", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_discard:
        serve_discard(args.serve_discard)
        return
    run(args)


if __name__ == "__main__":
    main()
