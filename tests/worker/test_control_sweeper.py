"""The control worker's stuck-processing sweeper, as a real process on the app's database."""

from __future__ import annotations

import json
import os
import subprocess
import time
from datetime import UTC, datetime, timedelta

from arq.jobs import JobStatus, serialize_result

from pixelfox_app.models import Image
from pixelfox_app.nodequeue import job as queued_job
from pixelfox_protocol import jobs
from tests.support import PIXELFOX
from tests.worker.conftest import NODE, Node, Stored, control_env, start_control_worker, wait_for


async def age(stored: Stored, minutes: int) -> None:
    """Pretend the image was created ``minutes`` ago."""
    await Image.filter(uuid=stored.uuid).update(
        created_at=datetime.now(UTC) - timedelta(minutes=minutes)
    )


def sweep_results(node: Node) -> list[dict[str, int]]:
    """What the sweeps of this test's control worker returned, oldest first."""
    import redis

    client = redis.Redis.from_url(node.env()["PIXELFOX_REDIS_URL"])
    try:
        keys = client.keys(f"arq:result:{node.keys.control_queue}:sweep_stuck_images:*")
        keys.sort(key=lambda k: int(k.rsplit(b":", 1)[1]))
        return [json.loads(client.get(k))["r"] for k in keys]
    finally:
        client.close()


async def test_the_sweeper_puts_back_only_images_stuck_without_a_live_job(node: Node) -> None:
    stuck = await node.store()
    await age(stuck, 11)
    young = await node.store()  # still within its ten minutes
    waiting = await node.store()
    await age(waiting, 30)
    await node.enqueue(waiting)  # its job sits in the queue: the node is just slow
    assert node.arq is not None
    queue = node.keys.node_queue(NODE)
    before = await queued_job(node.arq, node.keys.process_job(NODE, waiting.uuid), queue).info()
    assert before is not None
    node.job_ids += [
        node.keys.process_job(NODE, stuck.uuid),
        node.keys.process_job(NODE, young.uuid),
    ]

    worker = start_control_worker(node)
    wait_for(lambda: sweep_results(node), 30, "no sweep finished", worker)

    # (A sweep at the next full minute may follow; the first is the one that counts.)
    assert sweep_results(node)[0] == {"requeued": 1, "waiting": 1}
    job = queued_job(node.arq, node.keys.process_job(NODE, stuck.uuid), queue)
    assert await job.status() == JobStatus.queued
    info = await job.info()
    assert info is not None and info.function == "process_image"
    assert (info.kwargs["image_uuid"], info.kwargs["pool_id"], info.kwargs["path"]) == (
        stuck.uuid,
        stuck.pool_id,
        stuck.path,
    )
    young_job = queued_job(node.arq, node.keys.process_job(NODE, young.uuid), queue)
    assert await young_job.status() == JobStatus.not_found
    again = await queued_job(node.arq, node.keys.process_job(NODE, waiting.uuid), queue).info()
    assert again is not None and again.enqueue_time == before.enqueue_time  # not enqueued twice


async def test_a_put_back_image_is_processed_and_turns_ready(node: Node) -> None:
    stuck = await node.store()
    await age(stuck, 15)
    start_control_worker(node)
    node.job_ids.append(node.keys.process_job(NODE, stuck.uuid))

    node.start_worker()
    status = await node.wait_done(stuck)

    assert status["state"] == "ready" and len(status["variants"]) == 7


async def test_a_job_that_gave_up_is_put_back_once_it_has_settled(node: Node) -> None:
    # The node's job finished (its report never got through) 11 minutes ago.
    stuck = await node.store()
    await age(stuck, 40)
    node.job_ids.append(node.keys.process_job(NODE, stuck.uuid))
    assert node.arq is not None
    finished_ms = int((time.time() - 11 * 60) * 1000)
    result = serialize_result(
        "process_image",
        (),
        jobs.ProcessImage(
            image_uuid=stuck.uuid, pool_id=stuck.pool_id, path=stuck.path, request_id=""
        ).to_json(),
        12,
        finished_ms - 20 * 60 * 1000,
        False,
        RuntimeError("max 12 retries exceeded"),
        finished_ms - 1000,
        finished_ms,
        "test",
        node.keys.node_queue(NODE),
        node.keys.process_job(NODE, stuck.uuid),
        serializer=jobs.dumps,
    )
    assert result is not None
    await node.arq.set(f"arq:result:{node.keys.process_job(NODE, stuck.uuid)}", result)

    worker = start_control_worker(node)
    wait_for(lambda: sweep_results(node), 30, "no sweep finished", worker)

    assert sweep_results(node)[0] == {"requeued": 1}
    job = queued_job(node.arq, node.keys.process_job(NODE, stuck.uuid), node.keys.node_queue(NODE))
    assert await job.status() == JobStatus.queued


def test_control_worker_check_follows_the_worker(node: Node) -> None:
    env = {**os.environ, **control_env(node)}

    def check() -> int:
        return subprocess.run(
            [*PIXELFOX, "control-worker", "--check"], env=env, capture_output=True, timeout=30
        ).returncode

    worker = start_control_worker(node)
    health = f"{node.keys.control_queue}:health-check"
    import redis

    client = redis.Redis.from_url(node.env()["PIXELFOX_REDIS_URL"])
    try:
        wait_for(lambda: client.exists(health), 30, "control worker never polled", worker)
    finally:
        client.close()
    assert check() == 0
    worker.stop()  # a clean stop removes the health record at once
    assert check() == 1
