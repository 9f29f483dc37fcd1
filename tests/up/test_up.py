"""``pixelfox up``: the single-host appliance as an operator runs it."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.support import PIXELFOX, ROOT, free_port

from .appliance import Up, pid_alive


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[Up]]:
    """Every Up a test starts; any still running afterwards is stopped."""
    ups: list[Up] = []
    yield ups
    for up in ups:
        up.close()


def start(started: list[Up], data_dir: Path, redis_prefix: str, *extra: str) -> Up:
    up = Up(data_dir, redis_prefix, *extra)
    started.append(up)
    return up.start()


def wait_gone(pids: list[int], timeout: float = 5.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(pid_alive(p) for p in pids):
        time.sleep(0.1)
    return [p for p in pids if pid_alive(p)]


def test_a_taken_port_is_refused_in_one_line_before_anything_starts(tmp_path, redis_prefix):
    data_dir = tmp_path / "var"
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        done = subprocess.run(
            [*PIXELFOX, "up", "--data-dir", str(data_dir), "--app-port", str(free_port()),
             "--node-port", str(taken), "--redis-prefix", redis_prefix, "--no-install"],
            cwd=ROOT, capture_output=True, text=True, timeout=30,
        )  # fmt: skip

    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert str(taken) in lines[0] and "--node-port" in lines[0]
    assert "Traceback" not in done.stdout + done.stderr
    assert not data_dir.exists()


def test_ctrl_c_stops_every_child_and_a_restart_reuses_the_secrets_and_the_admin(
    tmp_path, redis_prefix, started
):
    data_dir = tmp_path / "var"
    first = start(started, data_dir, redis_prefix)
    secrets_file = data_dir / "secrets.env"
    secrets_before = secrets_file.read_text()
    password_file = data_dir / "admin-password.txt"
    password = password_file.read_text().split("password: ")[1].strip()
    assert f"admin / {password}" in first.output
    children = first.children()
    assert len(children) == 4

    first.signal(signal.SIGINT)

    assert first.wait() == 0
    assert wait_gone(list(children.values())) == []
    assert not (data_dir / "up.pids").exists()
    assert "PixelFox stopped." in first.output

    second = start(started, data_dir, redis_prefix)

    assert secrets_file.read_text() == secrets_before
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert password not in second.output
    assert "password in" in second.output
    assert asyncio.run(_admins(data_dir)) == ["admin"]
    second.signal(signal.SIGINT)
    assert second.wait() == 0


async def _admins(data_dir: Path) -> list[str]:
    from pixelfox_app.db import close_db, init_db
    from pixelfox_app.models import User

    await init_db(f"sqlite://{data_dir / 'pixelfox.sqlite3'}")
    try:
        return [u.username for u in await User.filter(is_admin=True)]
    finally:
        await close_db()


def test_without_a_reachable_redis_a_private_one_runs_and_stops_with_sigterm(
    tmp_path, redis_prefix, started
):
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    up = start(started, tmp_path / "var", redis_prefix, "--redis-url", nowhere)

    assert "started a private redis-server" in up.output
    redis_pid = up.children()["redis"]
    port = int(up.output.split("private redis-server on 127.0.0.1:")[1].split()[0])
    # Each process has its own user; the default user is off, with or without a password.
    password = _secret(up.data_dir, "PIXELFOX_REDIS_WORKER_PASSWORD")
    worker = f"{redis_prefix}-worker"
    private = redis.Redis(host="127.0.0.1", port=port, username=worker, password=password)
    assert private.ping()
    users = {u.decode() for u in private.execute_command("ACL", "USERS")}
    assert users == {"default", worker, f"{redis_prefix}-app", f"{redis_prefix}-node-local"}
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(host="127.0.0.1", port=port).ping()
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(host="127.0.0.1", port=port, password=password).ping()
    # The node's processes run as the node's user; nothing of theirs names the app's.
    node_env = _process_env(up.children()["node-worker"])
    assert f"{redis_prefix}-node-local:" in node_env["PIXELFOX_REDIS_URL"]
    assert _secret(up.data_dir, "PIXELFOX_REDIS_APP_PASSWORD") not in str(node_env)
    assert password not in str(node_env)
    acl = (up.data_dir / "redis" / "users.acl").read_text()
    assert acl.startswith("user default off")
    assert httpx.get(f"{up.node_url}/healthz").json()["checks"]["redis"] == "ok"
    pids = list(up.children().values())

    up.signal(signal.SIGTERM)

    assert up.wait() == 0
    assert wait_gone(pids) == []
    assert not pid_alive(redis_pid)
    with pytest.raises(redis.ConnectionError):
        private.ping()


def _process_env(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def _secret(data_dir: Path, name: str) -> str:
    for line in (data_dir / "secrets.env").read_text().splitlines():
        if line.startswith(f"{name}="):
            return line.split("=", 1)[1]
    raise KeyError(name)


def test_a_child_that_dies_stops_the_rest_and_up_exits_nonzero(tmp_path, redis_prefix, started):
    up = start(started, tmp_path / "var", redis_prefix)
    children = up.children()

    # A real crash: the node is killed from outside, as the OOM killer would.
    os.killpg(children["node"], signal.SIGKILL)

    assert up.wait() != 0
    assert "error: node exited unexpectedly (killed by SIGKILL)" in up.output
    assert "node.log" in up.output
    assert wait_gone(list(children.values())) == []


def test_after_up_is_killed_outright_the_next_start_stops_its_leftover_children(
    tmp_path, redis_prefix, started
):
    data_dir = tmp_path / "var"
    first = start(started, data_dir, redis_prefix)
    leftovers = first.children()
    first.signal(signal.SIGKILL)
    first.wait()
    # Each child runs in its own session, so they outlive an up killed with -9.
    assert all(pid_alive(pid) for pid in leftovers.values())

    second = Up(data_dir, redis_prefix, ports=(first.app_port, first.node_port))
    started.append(second)
    second.start()

    assert wait_gone(list(leftovers.values())) == []
    for name, pid in leftovers.items():
        assert f"stopped {name} (pid {pid}) left running by a previous run" in second.output
    assert httpx.get(f"{second.app_url}/healthz").status_code == 200
    second.signal(signal.SIGINT)
    assert second.wait() == 0
