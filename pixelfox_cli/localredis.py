"""Redis for the single-host appliance: use one that answers, else run a private one.

A private ``redis-server`` listens on a free loopback port and keeps its
snapshot under ``<data dir>/redis``; it is a child of ``pixelfox up`` and stops
with it. Its users come from an ACL file there (``users.acl``): the ``default``
user is off, the app and the control worker have users with passwords from
``secrets.env``, and the control worker adds each node's user
(``pixelfox_app.redis_users``). When the binary is missing and we
run as root on Debian, the ``redis-server`` package is installed first.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import redis

from pixelfox_common import tls

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


class RedisUnavailable(Exception):
    """No Redis could be found or started; the message says what to do."""


def answers(url: str, timeout: float = 1.0) -> bool:
    """True when a Redis at ``url`` answers PING (auth errors count as 'no')."""
    client = redis.Redis.from_url(
        url, socket_connect_timeout=timeout, socket_timeout=timeout, **tls.redis_options(url)
    )
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def redacted(url: str) -> str:
    """The URL without its password, for printing."""
    parsed = urlparse(url)
    if not parsed.password:
        return url
    netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@", 1)
    return parsed._replace(netloc=netloc).geturl()


def is_loopback(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme == "unix" or (parsed.hostname or "localhost") in LOOPBACK_HOSTS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def redis_server_binary(install: bool, report: Callable[[str], None]) -> str:
    """Path of ``redis-server``, installing Debian's package when allowed and needed."""
    found = shutil.which("redis-server")
    if found:
        return found
    if not install:
        raise RedisUnavailable("redis-server is not installed (apt-get install redis-server)")
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise RedisUnavailable(
            "no Redis answers and redis-server is not installed; "
            "run 'apt-get install redis-server' as root, or pass --redis-url"
        )
    report("installing Debian package redis-server (apt-get)")
    if _apt("install", "-y", "--no-install-recommends", "redis-server") != 0:
        # A fresh machine may have empty package lists; refresh once and retry.
        _apt("update")
        _apt("install", "-y", "--no-install-recommends", "redis-server")
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if not found:
        raise RedisUnavailable("installing redis-server failed; install it and try again")
    return found


def _apt(*args: str) -> int:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    done = subprocess.run(
        ["apt-get", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        check=False,
    )
    return done.returncode


ACL_FILE = "users.acl"


def private_redis_argv(binary: str, port: int, acl: str, data_dir: Path) -> list[str]:
    """The command line of a private Redis: loopback only, users from ``acl``, snapshots on disk.

    The ACL file (the text of ``pixelfox_app.redis_users.acl_file``) is written
    anew, 0600, on every start; node users come back with the control worker's sync.
    """
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    _write_private(data_dir / ACL_FILE, acl)
    settings = {
        "bind": "127.0.0.1",
        "port": str(port),
        "aclfile": str(data_dir / ACL_FILE),
        "dir": str(data_dir),
        "dbfilename": "dump.rdb",
        # Queues survive a restart of the appliance; SIGTERM writes a final snapshot.
        "save": "60 1",
        "appendonly": "no",
        "daemonize": "no",
        "supervised": "no",
        "logfile": '""',
    }
    conf = "".join(f"{key} {value}\n" for key, value in settings.items())
    _write_private(data_dir / "redis.conf", "# Written by pixelfox up on every start.\n" + conf)
    return [binary, str(data_dir / "redis.conf")]


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def private_redis_url(port: int) -> str:
    """The private Redis's address, without a user (see ``redis_users.user_url``)."""
    return f"redis://127.0.0.1:{port}/0"
