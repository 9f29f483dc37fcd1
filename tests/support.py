"""Helpers for tests that run real servers: free ports, subprocess services."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
PIXELFOX = [sys.executable, "-m", "pixelfox_cli"]
# One lock file per port handed out, shared by every test process on the machine.
PORT_LOCKS = Path(tempfile.gettempdir()) / "pixelfox-test-ports"
_reserved: list[IO[str]] = []


def _unreserved_range() -> range:
    """Ports below the kernel's ephemeral range: no outgoing connection ever takes one."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return range(max(1024, low - 12000), low)


async def eventually(check: Callable[[], Awaitable[Any]], seconds: float) -> Any:
    """``check()``'s first truthy value, polling for up to ``seconds``; else its last value."""
    deadline = time.monotonic() + seconds
    while True:
        value = await check()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.2)


def free_port() -> int:
    """A loopback port no other test (of this run or another) is given while this process lives.

    Binding port 0 and letting it go is not enough: the kernel hands the same
    port to the next asker, and outgoing connections take ports from that
    range too. So the port comes from below the ephemeral range, and a lock on
    its file (held until this process exits) keeps every other test process off it.
    """
    if not PORT_LOCKS.is_dir():
        PORT_LOCKS.mkdir(exist_ok=True)
        with contextlib.suppress(OSError):  # every user's test runs share the reservations
            PORT_LOCKS.chmod(0o1777)
    ports = _unreserved_range()
    for _ in range(200):
        port = random.choice(ports)
        if reserve(port):
            return port
    raise RuntimeError(f"no free port in {ports} after 200 tries")


def reserve(port: int) -> bool:
    """Take ``port`` for this process, unless a test process holds it or something listens."""
    try:
        lock = (PORT_LOCKS / str(port)).open("a")
    except OSError:  # another user's file: theirs
        return False
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # another test process holds it (or this one does, on another file)
        lock.close()
        return False
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            lock.close()
            return False
    _reserved.append(lock)
    return True


class Service:
    """A real process (hypercorn server or worker) started for a test.

    Output goes to ``log_path`` so a failing test can show it.
    """

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = {**os.environ, **env}
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, health_url: str | None = None, timeout: float = 30.0) -> Service:
        self.log_file = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )
        if health_url:
            self.wait_healthy(health_url, timeout)
        return self

    def wait_healthy(self, url: str, timeout: float = 30.0) -> None:
        """Until ``url`` answers 200 from this service's own socket.

        A 200 alone could come from another process on the same port (ours then
        failed to bind and is about to exit): the port must be one our process
        (or a child in its session, such as nginx's master) listens on.
        """
        assert self.proc is not None
        port = urlsplit(url).port or 80
        stranger = ""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited early{stranger}:\n{self.log()}")
            try:
                answered = httpx.get(url, timeout=1.0).status_code == 200
            except httpx.HTTPError:
                answered = False
            if answered:
                if listens_on(self.proc.pid, port):
                    return
                stranger = f" ({url} answered, but another process listens on port {port})"
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not healthy after {timeout}s{stranger}:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-5000:]
        except OSError:
            return ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        try:
            os.killpg(self.proc.pid, sig)
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait(5)
        except ProcessLookupError:
            return self.proc.poll()
        finally:
            self.log_file.close()

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


def listens_on(pid: int, port: int) -> bool:
    """Whether a process of ``pid``'s session holds a TCP socket listening on ``port``."""
    inodes = set()
    for table in ("tcp", "tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
                fields = line.split()
                if fields[1].endswith(f":{port:04X}") and fields[3] == "0A":  # 0A: LISTEN
                    inodes.add(f"socket:[{fields[9]}]")
    return bool(inodes) and any(_holds(p, inodes) for p in _session(pid))


def _holds(pid: int, sockets: set[str]) -> bool:
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{pid}/fd/{fd}") in sockets:
                    return True
    return False


def _session(leader: int) -> Iterator[int]:
    """The processes of the session ``leader`` started (``start_new_session``), leader first."""
    yield leader
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == leader:
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            # After the command's closing parenthesis: state, ppid, pgrp, session, …
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) == leader:
                yield int(entry)


def assert_vendored_files_match(vendor: Path) -> int:
    """Each file ``VERSIONS.md`` in ``vendor`` lists has the SHA-256 it records, and a LICENSE.

    Returns how many files were checked.
    """
    table = (vendor / "VERSIONS.md").read_text()
    recorded = re.findall(r"`([\w.-]+/[\w.-]+\.(?:js|css))`.*?`([0-9a-f]{64})`", table)
    for relative, digest in recorded:
        data = (vendor / relative).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, relative
        assert (vendor / relative).with_name("LICENSE").is_file()
    return len(recorded)


def run_doc_script(
    script: str, cwd: Path, stdin: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Runs a documented shell script as a reader pastes it: bash, stopping at the first failure."""
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
