"""The node worker as a real process connected as the node's own Redis user."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import NoPermissionError

from pixelfox_app import redis_users
from pixelfox_app.nodes import credential_hash
from pixelfox_protocol import jobs
from tests.conftest import REDIS_URL
from tests.support import eventually
from tests.worker.conftest import NODE, Node, start_control_worker


async def test_a_worker_connected_as_its_node_user_processes_a_job_end_to_end(node: Node):
    assert node.arq is not None
    user = redis_users.node_user(node.prefix, NODE, credential_hash(node.credential))
    await redis_users.apply(node.arq, node.prefix, [user])
    node.redis_url = redis_users.node_redis_url(REDIS_URL, node.prefix, NODE, node.credential)

    node.start_worker()  # both lanes poll: arq's start (INFO, health checks) is allowed
    stored = await node.store()
    await node.enqueue(stored)
    status = await node.wait_done(stored)

    assert status["state"] == "ready", node.workers[0].log()
    assert "NOPERM" not in node.workers[0].log()
    # The job's kept result was written under the node's own job id.
    assert await node.arq.exists(f"arq:result:{node.keys.process_job(NODE, stored.uuid)}")


async def test_a_worker_of_another_node_never_sees_the_job(node: Node):
    """s01's job sits in s01's lane; the user of s02 may not read or take it."""
    assert node.arq is not None
    stored = await node.store()
    await node.enqueue(stored)
    other = redis_users.node_user(node.prefix, "s02", credential_hash("s02-credential"))
    await redis_users.apply(node.arq, node.prefix, [other])
    url = redis_users.node_redis_url(REDIS_URL, node.prefix, "s02", "s02-credential")
    async with Redis.from_url(url) as s02:
        for call in (
            lambda: s02.zrange(node.keys.node_queue(NODE), 0, -1),
            lambda: s02.get(f"arq:job:{node.keys.process_job(NODE, stored.uuid)}"),
            lambda: s02.zrem(node.keys.node_queue(NODE), node.keys.process_job(NODE, stored.uuid)),
        ):
            try:
                await call()
            except NoPermissionError:
                continue
            raise AssertionError("s02 reached s01's lane")
    assert await node.arq.zcard(node.keys.node_queue(NODE)) == 1


async def test_the_control_worker_sets_each_registered_nodes_user_when_it_starts(node: Node):
    """A Redis that lost its users (restarted without an ACL file) gets them back."""
    assert node.arq is not None
    stale = redis_users.node_user(node.prefix, "gone", credential_hash("x"))
    await redis_users.apply(node.arq, node.prefix, [stale])

    start_control_worker(node)

    wanted, gone = f"{node.prefix}-node-{NODE}", f"{node.prefix}-node-gone"

    async def synced() -> set[str] | None:
        assert node.arq is not None
        users = {u.decode() for u in await node.arq.execute_command("ACL", "USERS")}
        return users if wanted in users and gone not in users else None

    assert await eventually(synced, 30), node.workers[0].log()
    url = redis_users.node_redis_url(REDIS_URL, node.prefix, NODE, node.credential)
    async with Redis.from_url(url) as as_node:
        assert await as_node.ping()


async def test_the_control_worker_runs_its_jobs_as_the_workers_user(node: Node):
    assert node.arq is not None
    user = redis_users.worker_user(node.prefix, "worker-password")
    await redis_users.apply(node.arq, node.prefix, [user])
    url = redis_users.user_url(REDIS_URL, user.name, "worker-password")

    start_control_worker(node, url)

    async def finished_sweep() -> list[bytes]:
        assert node.arq is not None
        pattern = f"arq:result:{node.keys.control_queue}:{jobs.SWEEP_STUCK_IMAGES}:*"
        return [key async for key in node.arq.scan_iter(pattern)]

    # The sweep's kept result: the job ran and arq finished it (ZREM arq:abort included).
    assert await eventually(finished_sweep, 30), node.workers[0].log()
    assert "NOPERM" not in node.workers[0].log()
