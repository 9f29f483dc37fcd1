"""The node worker as a real process: variants, reports, restarts, lanes, health."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pyvips
from arq.jobs import serialize_job
from PIL import Image as PILImage

from pixelfox_protocol import jobs
from pixelfox_storage.node_worker.files import TEMP_DIR
from pixelfox_storage.processing import parse_variants, render
from tests.support import PIXELFOX, eventually, free_port
from tests.worker import images
from tests.worker.conftest import NODE, Node, wait_for


async def test_a_fresh_upload_gets_upright_metadata_free_variants_and_turns_ready(
    node: Node,
) -> None:
    node.start_worker()
    stored = await node.store(lambda p: images.tagged_photo(p, orientation=6, size=(1800, 900)))

    request_id = f"upload-{uuid.uuid4().hex[:12]}"

    await node.enqueue(stored, request_id=request_id)
    status = await node.wait_done(stored)

    assert status["state"] == "ready"
    # The report carried the upload's request id: the app logged its request under it.
    # The access line follows the handler's commit, so "ready" can be read before it.
    app = node.app.services[0]

    async def logged() -> bool:
        lines = app.log_path.read_text().splitlines()
        return any(request_id in line and "/variants" in line for line in lines)

    assert await eventually(logged, seconds=10), app.log()
    got = {(v["kind"], v["format"]): (v["width"], v["height"]) for v in status["variants"]}
    # Stored 1800x900 with orientation 6: upright it is 900x1800.
    assert got == {
        ("medium", "jpg"): (640, 1280),
        ("medium", "webp"): (640, 1280),
        ("medium", "avif"): (640, 1280),
        ("thumb400", "jpg"): (200, 400),
        ("thumb400", "webp"): (200, 400),
        ("thumb200", "jpg"): (100, 200),
        ("thumb200", "webp"): (100, 200),
    }
    for variant in status["variants"]:
        rel = variant["url"].split("/uploads/", 1)[1]
        assert rel.startswith("variants/")
        data = (node.pool_dir / rel).read_bytes()
        assert len(data) == variant["size"]
        fields = pyvips.Image.new_from_buffer(data, "").get_fields()
        assert not [f for f in fields if f.startswith(("exif-", "xmp", "icc"))], rel
        assert images.CAMERA.encode() not in data
        if variant["format"] != "avif":
            with PILImage.open(node.pool_dir / rel) as decoded:
                assert decoded.getexif().get_ifd(0x8825) == {}  # no GPS
        top = images.pixel(data, variant["width"] // 2, 1)
        assert top[0] > 200 and top[2] < 60  # the red half is on top: rotation applied


async def test_a_report_the_app_could_not_take_is_delivered_once_it_is_back(node: Node) -> None:
    port = free_port()  # nothing listens here yet
    node.start_worker(
        app_url=f"http://127.0.0.1:{port}", node_pools=f"{node.pool_id}={node.pool_dir}"
    )
    stored = await node.store()
    await node.enqueue(stored)
    assert node.arq is not None
    retries = f"arq:retry:{node.keys.process_job(NODE, stored.uuid)}"
    # arq counts a try when it starts: try 2 running means try 1's report failed.
    for _ in range(600):
        if int(await node.arq.get(retries) or 0) >= 2:
            break
        await asyncio.sleep(0.05)
    assert int(await node.arq.get(retries) or 0) >= 2, node.workers[0].log()
    assert (await node.status(stored))["state"] == "processing"

    node.app.start_another(port)
    status = await node.wait_done(stored)

    assert status["state"] == "ready" and len(status["variants"]) == 7


async def test_a_job_killed_mid_run_is_redone_after_restart_and_leaves_no_half_file(
    node: Node,
) -> None:
    # A big medium size makes the run long enough to kill it between two files.
    variants = "medium:2048:jpg+webp+avif,thumb400:400:jpg+webp,thumb200:200:jpg+webp"
    specs = parse_variants(variants)
    worker = node.start_worker(variants=variants)
    stored = await node.store(lambda p: images.photo(p, 4000, 3000))
    expected = {(r.variant, r.fmt): r.data for r in render(stored.original, specs)}
    out = node.pool_dir / stored.path.replace("original/", "variants/", 1).rsplit("/", 1)[0]

    def final(kind: str, fmt: str) -> Path:
        return out / f"{stored.uuid}_{kind}.{fmt}"

    await node.enqueue(stored)
    wait_for(lambda: final("medium", "jpg").exists(), 60, "the job never wrote a file", worker)
    worker.kill()

    written = {key for key in expected if final(*key).exists()}
    assert 0 < len(written) < len(expected), "the kill did not land mid-run"
    for key in written:  # whatever reached its final path is whole
        assert final(*key).read_bytes() == expected[key], key
    assert (await node.status(stored))["state"] == "processing"

    node.start_worker(variants=variants)
    status = await node.wait_done(stored)

    assert status["state"] == "ready" and len(status["variants"]) == len(expected)
    for key, data in expected.items():
        assert final(*key).read_bytes() == data, key
    assert list((node.pool_dir / TEMP_DIR).iterdir()) == []


async def test_a_fresh_upload_overtakes_thousands_of_waiting_background_jobs(
    node: Node,
) -> None:
    node.start_worker()
    backlog_original = await node.store(lambda p: images.photo(p, 640, 480))
    fresh = await node.store(lambda p: images.photo(p, 1600, 1200))
    background = node.keys.node_background_queue(NODE)
    # 3000 backfills of images the app does not know: each makes real variants,
    # then learns from the app that there is nothing to record.
    assert node.arq is not None
    now_ms = int(time.time() * 1000)
    async with node.arq.pipeline(transaction=False) as pipe:
        for i in range(3000):
            job_id = f"{node.prefix}:backfill:{i}"
            args = jobs.ProcessImage(
                image_uuid=str(uuid.uuid4()),
                pool_id=node.pool_id,
                path=backlog_original.path,
                request_id="",
            )
            job = serialize_job(
                jobs.PROCESS_IMAGE, (), args.to_json(), None, now_ms, serializer=jobs.dumps
            )
            pipe.psetex(f"arq:job:{job_id}", 600_000, job)
            pipe.zadd(background, {job_id: now_ms + i})
        await pipe.execute()
    wait_for(lambda: (node.pool_dir / "variants").exists(), 30, "the backlog never started")

    await node.enqueue(fresh)
    status = await node.wait_done(fresh)
    still_waiting = await node.arq.zcard(background)

    assert status["state"] == "ready"
    # Enqueued last, finished before at least 2900 jobs that were queued before it.
    assert still_waiting >= 2900, f"only {still_waiting} background jobs were still waiting"


def test_check_reports_a_running_worker_healthy_and_a_stopped_one_not(node: Node) -> None:
    env = {**os.environ, **node.env()}

    def check() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*PIXELFOX, "worker", "--node", NODE, "--check"],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )

    worker = node.start_worker()
    healthy = check()
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert "j_complete=" in healthy.stdout  # arq's health line of each lane

    worker.stop(signal.SIGTERM)
    stopped = check()
    assert stopped.returncode == 1
    assert "no recent health record" in stopped.stdout
