"""Runs ``pixelfox up`` as a real process for a test and reads what it prints."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import fresh_redis_prefix
from tests.support import PIXELFOX, ROOT, free_port

READY_LINE = "Press Ctrl-C to stop."


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still has a pid but is gone for every purpose that matters here.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@contextlib.contextmanager
def running_appliance(data_dir: Path) -> Iterator[Up]:
    """A started ``pixelfox up`` on its own Redis prefix, stopped and cleaned up afterwards."""
    with fresh_redis_prefix() as prefix:
        up = Up(data_dir, prefix)
        try:
            yield up.start()
        finally:
            up.close()


def admin_credentials(data_dir: Path) -> dict[str, str]:
    """The first admin ``pixelfox up`` made, from the file it printed the password to."""
    lines = (data_dir / "admin-password.txt").read_text().splitlines()
    fields = dict(line.split(": ", 1) for line in lines)
    return {"username": fields["username"], "password": fields["password"]}


class Up:
    """One ``pixelfox up`` process on its own data dir and free ports."""

    def __init__(
        self,
        data_dir: Path,
        redis_prefix: str,
        *extra: str,
        ports: tuple[int, int] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.app_port, self.node_port = ports or (free_port(), free_port())
        self.argv = [
            *PIXELFOX,
            "up",
            "--data-dir",
            str(data_dir),
            "--app-port",
            str(self.app_port),
            "--node-port",
            str(self.node_port),
            "--redis-prefix",
            redis_prefix,
            "--no-install",
            # Fixed /metrics ports would collide between tests running side by side.
            "--metrics-port",
            "0",
            *extra,
        ]
        self.lines: list[str] = []
        self.proc: subprocess.Popen[str] | None = None
        # The children seen once it was ready; close() makes sure none survives.
        self.seen_children: dict[str, int] = {}

    @property
    def app_url(self) -> str:
        return f"http://127.0.0.1:{self.app_port}"

    @property
    def node_url(self) -> str:
        return f"http://127.0.0.1:{self.node_port}"

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def start(self, timeout: float = 60.0) -> Up:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PIXELFOX_")}
        self.proc = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        deadline = time.monotonic() + timeout
        while READY_LINE not in self.lines:
            if self.proc.poll() is not None:
                self.reader.join(10)  # it ends at the end of the output
                raise AssertionError(f"pixelfox up exited early:\n{self.output}")
            if time.monotonic() > deadline:
                raise AssertionError(f"pixelfox up not ready after {timeout}s:\n{self.output}")
            time.sleep(0.1)
        self.seen_children = self.children()
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def children(self) -> dict[str, int]:
        """Name -> pid of the processes ``up`` started, from its pid file."""
        pids: dict[str, int] = {}
        for line in (self.data_dir / "up.pids").read_text().splitlines():
            name, pid, _started = line.split()
            if name != "up":
                pids[name] = int(pid)
        return pids

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        code = self.proc.wait(timeout)
        self.reader.join(10)  # every line read: it ends at the end of the output
        return code

    def close(self) -> None:
        """Last resort after a failed test: nothing of ours may outlive it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        for pid in self.seen_children.values():
            if pid_alive(pid):
                os.killpg(pid, signal.SIGKILL)
