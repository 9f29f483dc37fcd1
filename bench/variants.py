"""The whole variant set: pyvips (the node worker's pipeline) vs Pillow, same settings.

For a 12 MP and a 24 MP JPEG made at start, each contender makes the whole
set (thumb200, thumb400 as JPEG + WebP; medium 1280 as JPEG + WebP + AVIF) in
memory, several times, in its own subprocess pinned to one CPU, so that peak
RSS (``ru_maxrss``) is that contender's alone. Contenders:

- ``pyvips``: ``pixelfox_storage.processing.render`` as the worker runs it
  (decode once with shrink-on-load at 1280, derive the smaller sizes);
- ``pyvips-per-variant``: the same encoders, but ``thumbnail`` from the file
  for every size (what "decode once" saves);
- ``pillow``: the same sizes, formats, quality and effort: JPEG draft mode
  (DCT scaling to the same decode size as pyvips' shrink-on-load), exif_transpose,
  LANCZOS, JPEG q82 optimised progressive, WebP q80 method 4, AVIF at the
  quality that matches libheif's Q55 (see ``PILLOW_AVIF_QUALITY``) and speed
  9 - effort, one thread, the same malloc tuning.

Both sides use the same codecs (libjpeg-turbo/mozjpeg, libwebp, aom) at the
same settings, and the WebP and JPEG files come out within a few bytes of each
other: encoding costs both the same, and pyvips can only win on decode and resize.

Goals (issue 4): pyvips >= 1.5x Pillow's throughput for the whole set,
<= 150 MB peak RSS per worker, a 24 MP set's p95 <= 2 s on one core.

    .venv/bin/python bench/variants.py [-n RUNS_PER_CHILD] [-r ROUNDS]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SIZES = {"12MP": (4000, 3000), "24MP": (6000, 4000)}
CONTENDERS = ("pyvips", "pyvips-per-variant", "pillow")
# libheif and libavif map "quality" to aom's quantizer differently: libheif's Q55
# gives the bytes and PSNR of libavif's quality 66-68 (12 and 24 MP originals,
# 1280 px, 59-64 KB at 33-34 dB on both); libavif's quality 55 makes files half
# as large at 1 dB less. 68 gives Pillow the larger files and higher PSNR of the two.
PILLOW_AVIF_QUALITY = 68
# The worker's peak RSS is measured over this many 24 MP jobs, two at a time:
# fragmentation builds up job after job, so a few jobs would understate it.
WORKER_JOBS = 8


def make_originals(directory: Path) -> dict[str, Path]:
    """Photo-like JPEGs (gradients, grain, a little blur), q90, no metadata."""
    import pyvips

    out = {}
    for name, (w, h) in SIZES.items():
        x = pyvips.Image.xyz(w, h)
        rgb = (x[0] * 255 / w).bandjoin([x[1] * 255 / h, (x[0] + x[1]) % 256])
        grain = pyvips.Image.gaussnoise(w, h, sigma=20)
        image = (rgb + grain.bandjoin([grain, grain])).cast("uchar").gaussblur(1.2).cast("uchar")
        path = directory / f"{name}.jpg"
        image.jpegsave(str(path), Q=90)
        out[name] = path
    return out


# --- children: one contender, one original, N runs -----------------------------------


def child_pyvips(path: Path) -> tuple[dict[str, float], dict[str, int]]:
    from pixelfox_storage.processing import parse_variants, render

    timings: dict[str, float] = {}
    sizes: dict[str, int] = {}
    started = time.perf_counter()
    for r in render(path, parse_variants("")):
        now = time.perf_counter()
        timings[r.fmt] = timings.get(r.fmt, 0.0) + now - started
        sizes[f"{r.variant}.{r.fmt}"] = len(r.data)
        started = now
    return timings, sizes


def child_pyvips_per_variant(path: Path) -> tuple[dict[str, float], dict[str, int]]:
    import pyvips

    from pixelfox_storage.processing import harden, parse_variants
    from pixelfox_storage.processing.pipeline import _clean, _encode, _to_srgb

    harden()
    timings: dict[str, float] = {}
    sizes: dict[str, int] = {}
    for spec in parse_variants(""):
        started = time.perf_counter()
        # The pipeline's colour handling (output_profile would transform every image).
        image = pyvips.Image.thumbnail(str(path), spec.box, height=spec.box, size="down")
        image = _clean(_to_srgb(image)).copy_memory()
        timings["decode"] = timings.get("decode", 0.0) + time.perf_counter() - started
        for fmt in spec.formats:
            started = time.perf_counter()
            sizes[f"{spec.name}.{fmt}"] = len(_encode(image, fmt))
            timings[fmt] = timings.get(fmt, 0.0) + time.perf_counter() - started
    return timings, sizes


def child_pillow(path: Path) -> tuple[dict[str, float], dict[str, int]]:
    from io import BytesIO

    from PIL import Image, ImageCms, ImageOps

    from pixelfox_storage.processing import parse_variants
    from pixelfox_storage.processing import specs as s
    from pixelfox_storage.processing.pipeline import tune_malloc

    tune_malloc()
    timings: dict[str, float] = {}
    sizes: dict[str, int] = {}
    variants = parse_variants("")
    largest = variants[0].box
    started = time.perf_counter()
    with Image.open(path) as im:
        # The fitted size, as Image.thumbnail asks for it: draft then picks the
        # same DCT scale as pyvips' shrink-on-load (a 6000x4000 original decodes
        # at 1500x1000 on both sides; a square box would ask for 3000x2000).
        scale = min(1.0, largest / max(im.size))
        im.draft("RGB", (round(im.width * scale), round(im.height * scale)))
        upright = ImageOps.exif_transpose(im)
        if upright.info.get("icc_profile"):
            source = ImageCms.ImageCmsProfile(BytesIO(upright.info["icc_profile"]))
            converted = ImageCms.profileToProfile(upright, source, ImageCms.createProfile("sRGB"))
            upright = converted if converted is not None else upright  # None only in place
        base = upright if upright.mode == "RGB" else upright.convert("RGB")
    base.thumbnail((largest, largest), Image.Resampling.LANCZOS, reducing_gap=2.0)
    timings["decode"] = time.perf_counter() - started
    options = {
        "jpg": ("JPEG", {"quality": s.JPEG_QUALITY, "optimize": True, "progressive": True}),
        "webp": ("WEBP", {"quality": s.WEBP_QUALITY, "method": s.WEBP_EFFORT}),
        "avif": (
            "AVIF",
            {"quality": PILLOW_AVIF_QUALITY, "speed": 9 - s.AVIF_EFFORT, "max_threads": 1},
        ),
    }
    for spec in variants:
        started = time.perf_counter()
        sized = base.copy()
        sized.thumbnail((spec.box, spec.box), Image.Resampling.LANCZOS, reducing_gap=2.0)
        timings["decode"] += time.perf_counter() - started
        for fmt in spec.formats:
            started = time.perf_counter()
            buffer = BytesIO()
            kind, opts = options[fmt]
            sized.save(buffer, kind, **opts)
            sizes[f"{spec.name}.{fmt}"] = buffer.tell()
            timings[fmt] = timings.get(fmt, 0.0) + time.perf_counter() - started
    return timings, sizes


def run_child(contender: str, path: Path, iterations: int) -> None:
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})  # one core
    work = {
        "pyvips": child_pyvips,
        "pyvips-per-variant": child_pyvips_per_variant,
        "pillow": child_pillow,
    }[contender]
    work(path)  # warm-up: first-use costs (codec init) are not per-image costs
    runs: list[float] = []
    shares: dict[str, float] = {}
    sizes: dict[str, int] = {}
    for _ in range(iterations):
        started = time.perf_counter()
        timings, sizes = work(path)
        runs.append(time.perf_counter() - started)
        for key, value in timings.items():
            shares[key] = shares.get(key, 0.0) + value
    print(
        json.dumps(
            {
                "runs": runs,
                "shares": shares,
                "sizes": sizes,
                "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


# --- parent -----------------------------------------------------------------------


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def measure(contender: str, path: Path, iterations: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", contender, str(path), str(iterations)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def worker_peak_rss(original: Path, tmp: Path, jobs: int = WORKER_JOBS) -> float:
    """VmHWM (MB) of a real ``pixelfox worker`` after making the set of ``jobs`` originals.

    Both lanes run, the fresh lane takes two jobs at once; no app listens, so
    each job retries its report afterwards (that does not touch the figure).
    """
    import asyncio
    import shutil
    import uuid
    from datetime import UTC, datetime

    from arq.connections import RedisSettings, create_pool

    from pixelfox_protocol.jobs import SERIALIZERS, ProcessImage

    pool = tmp / "pool"
    day = datetime.now(UTC)
    prefix = f"pfbench-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PIXELFOX_NODE_ID": "bench",
        "PIXELFOX_REDIS_PREFIX": prefix,
        "PIXELFOX_NODE_POOLS": f"1={pool}",
        "PIXELFOX_APP_URL": "http://127.0.0.1:9",
        "PIXELFOX_WORKER_METRICS_BIND": "off",
        "PIXELFOX_LOG_LEVEL": "WARNING",
        "PIXELFOX_STATE_DIR": str(tmp / "state"),
    }
    uuids = [str(uuid.uuid4()) for _ in range(jobs)]
    for image_uuid in uuids:
        target = pool / f"original/{day:%Y/%m/%d}/{image_uuid}.jpg"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(original, target)
    worker = subprocess.Popen(
        [sys.executable, "-m", "pixelfox_cli", "worker", "--node", "bench"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    async def run() -> None:
        redis = await create_pool(RedisSettings(), **SERIALIZERS)
        try:
            for image_uuid in uuids:
                path = f"original/{day:%Y/%m/%d}/{image_uuid}.jpg"
                args = ProcessImage(image_uuid=image_uuid, pool_id=1, path=path, request_id="")
                await redis.enqueue_job(
                    args.NAME,
                    _job_id=f"{prefix}:process:{image_uuid}",
                    _queue_name=f"{prefix}:node:bench",
                    **args.to_json(),
                )
            done = pool / f"variants/{day:%Y/%m/%d}"
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                if done.exists() and len(list(done.glob("*_thumb200.webp"))) == jobs:
                    return
                await asyncio.sleep(0.2)
            raise RuntimeError("the worker did not finish")
        finally:
            await redis.aclose()

    async def clean() -> None:
        redis = await create_pool(RedisSettings(), **SERIALIZERS)
        keys = [k async for k in redis.scan_iter(f"*{prefix}*", count=1000)]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()

    try:
        asyncio.run(run())
        status = Path(f"/proc/{worker.pid}/status").read_text()
        peak_kb = next(
            int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM")
        )
    finally:
        worker.terminate()
        worker.wait(30)
        # After the worker: its retries would otherwise put the jobs back.
        asyncio.run(clean())
    return peak_kb / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--iterations", type=int, default=4, help="runs per child")
    parser.add_argument("-r", "--rounds", type=int, default=3, help="children per contender")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    runs = args.iterations * args.rounds
    print(f"variant set: {runs} runs per contender ({args.rounds} rounds), one core each")
    print(f"(load average at start {load:.1f} on {os.cpu_count()} CPUs: figures are relative)\n")
    with tempfile.TemporaryDirectory(prefix="pf-bench-") as tmp:
        originals = make_originals(Path(tmp))
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        # Rounds alternate the contenders, so that a burst of load on this shared
        # machine hits all of them rather than one.
        for _ in range(args.rounds):
            for size, path in originals.items():
                for contender in CONTENDERS:
                    got = measure(contender, path, args.iterations)
                    row = rows.setdefault((size, contender), {"runs": [], "shares": {}})
                    row["runs"] += got["runs"]
                    for key, value in got["shares"].items():
                        row["shares"][key] = row["shares"].get(key, 0.0) + value
                    row["sizes"] = got["sizes"]
                    row["rss_mb"] = max(row.get("rss_mb", 0.0), got["rss_mb"])
        worker_rss = worker_peak_rss(originals["24MP"], Path(tmp))

    header = (
        f"{'original':8} {'contender':19} {'sets/s':>7} {'p50 s':>6} {'p95 s':>6} {'RSS MB':>7}"
    )
    header += f" {'vs Pillow':>9}  seconds per set by stage"
    print(header)
    print("-" * (len(header) + 30))
    for (size, contender), row in rows.items():
        runs_s = row["runs"]
        pillow = rows[size, "pillow"]["runs"]
        ratio = statistics.median(pillow) / statistics.median(runs_s)
        # pyvips decodes inside its first (JPEG) rendition: "jpg" includes the decode there.
        stages = " ".join(
            f"{'decode+jpg' if k == 'jpg' and contender == 'pyvips' else k} {v / len(runs_s):.2f}"
            for k, v in sorted(row["shares"].items())
        )
        print(
            f"{size:8} {contender:19} {1 / statistics.median(runs_s):7.2f} "
            f"{statistics.median(runs_s):6.3f} {p95(runs_s):6.3f} {row['rss_mb']:7.1f} "
            f"{ratio:8.2f}x  {stages}"
        )
    print("\nbytes of the 24MP set (pyvips | Pillow):")
    vips, pil = rows["24MP", "pyvips"]["sizes"], rows["24MP", "pillow"]["sizes"]
    for key in vips:
        print(f"  {key:15} {vips[key]:>8} | {pil.get(key, 0):>8}")
    jobs = f"{WORKER_JOBS} 24MP jobs two at a time"
    print(f"\npeak RSS of a real node worker, {jobs}: {worker_rss:.0f} MB")
    print("goals: pyvips >= 1.5x Pillow; <= 150 MB RSS per worker; 24MP p95 <= 2 s on one core")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        run_child(sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]))
    else:
        main()
