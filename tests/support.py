"""Helpers for tests that run real servers: free ports, subprocess services."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
PIXELFOX = [sys.executable, "-m", "pixelfox_cli"]


async def eventually(check: Callable[[], Awaitable[Any]], seconds: float) -> Any:
    """``check()``'s first truthy value, polling for up to ``seconds``; else its last value."""
    deadline = time.monotonic() + seconds
    while True:
        value = await check()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.2)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log()}")
            try:
                if httpx.get(url, timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not healthy after {timeout}s:\n{self.log()}")

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
