"""The redis role's ACL file holds exactly the users the app computes, and Redis takes it."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from pixelfox_app import redis_users
from pixelfox_lab import roles
from tests.support import free_port

MASTER = "node-credential-master"
VALUES = {
    "pixelfox_redis_prefix": "pf",
    "pixelfox_redis_password": "app-password",
    "pixelfox_redis_worker_password": "worker-password",
    "pixelfox_node_credential_master": MASTER,
    "pixelfox_node_credentials": {"s02": "an-explicit-credential-of-s02"},
    "groups": {"storage": ["host-b", "host-a"]},
    "hostvars": {"host-a": {"pixelfox_node_id": "s01"}, "host-b": {"pixelfox_node_id": "s02"}},
}


def _credential(node_id: str) -> str:
    """As the pixelfox_storage role derives a node's credential."""
    explicit = VALUES["pixelfox_node_credentials"]
    assert isinstance(explicit, dict)
    return explicit.get(node_id) or hashlib.sha256(f"{node_id}:{MASTER}".encode()).hexdigest()


def _rendered() -> str:
    return roles.render("redis", "etc/redis/users.acl.j2", VALUES)


def test_the_role_writes_the_users_the_app_computes_line_for_line():
    nodes = {n: hashlib.sha256(_credential(n).encode()).hexdigest() for n in ("s01", "s02")}
    principals = {"app": "app-password", "worker": "worker-password"}

    expected = redis_users.acl_file(redis_users.wanted_users("pf", nodes, principals))

    assert _rendered() == expected


@pytest.fixture
def role_redis(tmp_path: Path) -> Iterator[int]:
    """A real redis-server reading the role's ACL file."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is installed on the test machine"
    (tmp_path / "users.acl").write_text(_rendered())
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--aclfile", str(tmp_path / "users.acl"), "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        client = redis.Redis(port=port, username="pf-worker", password="worker-password")
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if proc.poll() is not None:
                    raise AssertionError("redis-server refused the role's ACL file") from None
                time.sleep(0.05)
        client.close()
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def test_redis_loads_the_file_with_default_off_and_each_node_on_its_credential(role_redis: int):
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=role_redis).ping()
    node = redis.Redis(port=role_redis, username="pf-node-s01", password=_credential("s01"))
    assert node.set("pf:node:s01:jti:x", "busy")
    with pytest.raises(redis.exceptions.NoPermissionError):
        node.set("pf:node:s02:jti:x", "busy")
    other = redis.Redis(port=role_redis, username="pf-node-s02", password=_credential("s02"))
    assert other.ping()
    app = redis.Redis(port=role_redis, username="pf-app", password="app-password")
    assert app.set("pf:heartbeat:s01", "{}")
    # The worker may reload the file, as the role's handler does.
    worker = redis.Redis(port=role_redis, username="pf-worker", password="worker-password")
    assert worker.execute_command("ACL", "LOAD")
    for client in (node, other, app, worker):
        client.close()
