"""The stolen-node attacks that apply to the single-host appliance (``pixelfox up``).

One host carries the app and its node ``local``; a stolen node here is the
node's processes: their environment is what an attacker holding them has. Its
Redis URL names the node's own user, and with it the same attacks as on the
lab (test_stolen_node.py) fail the same way: the control queue, the app's keys
and every admin command are refused (NOPERM), and a pickled job in the node's
own lane is refused by its worker, which goes on. Attacks that need a second
node (its keys, its links, its disk) do not apply on one host.
"""

from __future__ import annotations

import pickle
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from pixelfox_protocol.keys import RedisKeys
from tests.up.appliance import Up, pid_alive, running_appliance


class _Touch:
    """Unpickling this runs ``touch <marker>``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (subprocess.call, (["touch", str(self.marker)],))


@pytest.fixture(scope="module")
def appliance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    with running_appliance(tmp_path_factory.mktemp("appliance") / "var") as up:
        yield up


@pytest.fixture(scope="module")
def node_env(appliance: Up) -> dict[str, str]:
    """The node worker's environment: what a stolen node holds."""
    raw = Path(f"/proc/{appliance.children()['node-worker']}/environ").read_bytes()
    return dict(item.decode().split("=", 1) for item in raw.split(b"\0") if b"=" in item)


@pytest.fixture
def stolen(node_env: dict[str, str]) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(node_env["PIXELFOX_REDIS_URL"])
    yield client
    client.close()


def _keys(node_env: dict[str, str]) -> RedisKeys:
    return RedisKeys(node_env["PIXELFOX_REDIS_PREFIX"])


def test_the_nodes_redis_url_is_its_own_user(node_env: dict[str, str], stolen: redis.Redis) -> None:
    keys = _keys(node_env)
    assert f"//{keys.prefix}-node-local:" in node_env["PIXELFOX_REDIS_URL"]
    probe = f"{keys.node_scope('local')}:probe"
    assert stolen.set(probe, "1") and stolen.delete(probe) == 1


def test_the_node_cannot_queue_for_the_control_worker_or_touch_the_apps_keys(
    node_env: dict[str, str], stolen: redis.Redis, tmp_path: Path
) -> None:
    keys = _keys(node_env)
    attempts = [
        ("SET", f"arq:job:{keys.prefix}:stolen", pickle.dumps(_Touch(tmp_path / "ran"))),
        ("ZADD", keys.control_queue, "0", f"{keys.prefix}:stolen"),
        ("SET", keys.node_heartbeat("local"), "{}"),
        ("HSET", keys.node_health("local"), "state", "up"),
        ("SET", keys.pool_reachable(1), "1"),
        ("SET", keys.pool_placed_bytes(1), "0"),
        ("SET", keys.move_state(1), "cancelled"),
        ("DEL", f"{keys.rate_limit_prefix}/login/admin"),
    ]
    for command in attempts:
        with pytest.raises(redis.exceptions.NoPermissionError):
            stolen.execute_command(*command)
    assert not (tmp_path / "ran").exists()


@pytest.mark.parametrize(
    "command",
    [
        ("FLUSHALL",),
        ("FLUSHDB",),
        ("KEYS", "*"),
        ("CONFIG", "SET", "dir", "/tmp"),
        ("EVAL", "return 1", "0"),
        ("SCRIPT", "FLUSH"),
        ("ACL", "LIST"),
        ("MODULE", "LIST"),
        ("SHUTDOWN", "NOSAVE"),
    ],
)
def test_the_node_runs_no_admin_command(stolen: redis.Redis, command: tuple[str, ...]) -> None:
    with pytest.raises(redis.exceptions.NoPermissionError):
        stolen.execute_command(*command)


def test_a_pickled_job_in_the_nodes_own_lane_is_refused_and_the_worker_goes_on(
    appliance: Up, node_env: dict[str, str], stolen: redis.Redis, tmp_path: Path
) -> None:
    keys = _keys(node_env)
    marker = tmp_path / "ran"
    queue = keys.node_queue("local")
    job_id = f"{queue}:stolen-own"
    worker = appliance.children()["node-worker"]
    stolen.set(f"arq:job:{job_id}", pickle.dumps(_Touch(marker)), ex=600)
    stolen.zadd(queue, {job_id: int(time.time() * 1000)})
    deadline = time.monotonic() + 60
    while not stolen.exists(f"arq:result:{job_id}"):
        assert time.monotonic() < deadline, "the node worker never took the job"
        time.sleep(0.5)
    assert not marker.exists(), "a pickled job was unpickled"
    assert pid_alive(worker) and appliance.children()["node-worker"] == worker
    assert httpx.get(f"{appliance.node_url}/healthz").status_code == 200
