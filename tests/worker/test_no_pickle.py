"""No queue runs pickle: a pickled job is refused and logged, and the workers go on.

A pickled arq job is code: unpickling it runs whatever its author chose. The
job written here would create a marker file when unpickled. It goes into the
control queue and both lanes of a node, in front of a valid job, and real
worker processes read them.
"""

from __future__ import annotations

import pickle
import subprocess
import time
from pathlib import Path
from typing import Any

from pixelfox_app.nodequeue import enqueue, job
from pixelfox_protocol import jobs
from tests.worker.conftest import NODE, Node, start_control_worker


class _Touch:
    """Unpickling this runs ``touch <marker>``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (subprocess.call, (["touch", str(self.marker)],))


async def test_a_pickled_job_on_any_queue_is_refused_and_the_workers_go_on(
    node: Node, tmp_path: Path
) -> None:
    assert node.arq is not None
    marker = tmp_path / "pickle-ran"
    now = int(time.time() * 1000)
    record = pickle.dumps({"t": None, "f": "ping", "a": (_Touch(marker),), "k": {}, "et": now})
    fresh, background = node.keys.node_queue(NODE), node.keys.node_background_queue(NODE)
    control = node.keys.control_queue
    valid: dict[str, jobs.JobArgs] = {
        fresh: jobs.Ping(),
        background: jobs.Ping(),
        control: jobs.PlanMove(move_id=999_999, cursor=0),  # no such move: planned nothing
    }
    for queue, args in valid.items():
        pickled = f"{queue}:pickled"
        node.job_ids += [pickled, f"{queue}:valid"]
        await node.arq.psetex(f"arq:job:{pickled}", 60_000, record)
        await node.arq.zadd(queue, {pickled: now})
        # Queued after the pickled one: a worker reaches it only by going on.
        assert await enqueue(node.arq, args, queue=queue, job_id=f"{queue}:valid")

    workers = [node.start_worker(), start_control_worker(node)]
    results = {q: await job(node.arq, f"{q}:valid", q).result(timeout=30) for q in valid}

    assert not marker.exists(), "a pickled job was unpickled"
    assert results[fresh]["node_id"] == results[background]["node_id"] == NODE
    assert results[control] == {"state": "gone", "planned": 0}
    for queue in valid:
        refused = await job(node.arq, f"{queue}:pickled", queue).result_info()
        assert refused is not None and not refused.success
        assert refused.function == jobs.UNKNOWN_FUNCTION
        assert isinstance(refused.result, jobs.JobError)
        assert refused.result.kind == "DeserializationError"
        assert "not JSON" in refused.result.message
    for worker in workers:
        assert worker.proc is not None and worker.proc.poll() is None, worker.log()
        assert "refused a queued job or result: not JSON" in worker.log_path.read_text()
    assert not marker.exists()
