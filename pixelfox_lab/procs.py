"""Processes seen from outside the hosts: found by namespace in /proc, signalled by PID."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

PROC = Path("/proc")


class CommandError(subprocess.CalledProcessError):
    """A command failed; unlike its base class, the message includes its stderr."""

    def __str__(self) -> str:
        err = self.stderr.strip() if isinstance(self.stderr, str) else ""
        return f"{super().__str__()}\n{err}" if err else super().__str__()


def check_result(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    if result.returncode != 0:
        raise CommandError(result.returncode, result.args, result.stdout, result.stderr)
    return result


def run(argv: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a command of the machine itself, output captured."""
    result = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    return check_result(result) if check else result


def all_pids() -> Iterator[int]:
    for entry in os.scandir(PROC):
        if entry.name.isdigit():
            yield int(entry.name)


def ns_inode(pid: int | str, kind: str) -> int | None:
    """Inode of a process's namespace of `kind` ("net", "mnt", ...); None if it is gone."""
    try:
        return os.stat(PROC / str(pid) / "ns" / kind).st_ino
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None


def netns_file_inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except FileNotFoundError:
        return None


def pids_in_netns(inodes: Iterable[int]) -> list[int]:
    wanted = set(inodes)
    if not wanted:
        return []
    return [pid for pid in all_pids() if ns_inode(pid, "net") in wanted]


def _status_field(pid: int, name: str) -> str | None:
    try:
        text = (PROC / str(pid) / "status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key == name:
            return value.strip()
    return None


def parent_pid(pid: int) -> int | None:
    value = _status_field(pid, "PPid")
    return int(value) if value else None


def is_pid_ns_init(pid: int) -> bool:
    """True for the PID 1 of a nested PID namespace (seen from outside)."""
    chain = (_status_field(pid, "NSpid") or "").split()
    return len(chain) > 1 and chain[-1] == "1"


def children(pid: int) -> list[int]:
    return [p for p in all_pids() if parent_pid(p) == pid]


def listens_on_tcp(pid: int, port: int) -> bool:
    """Whether a TCP socket listens on `port` in the network namespace of `pid`."""
    wanted = f":{port:04X}"
    for name in ("tcp", "tcp6"):
        try:
            lines = (PROC / str(pid) / "net" / name).read_text().splitlines()[1:]
        except (FileNotFoundError, ProcessLookupError):
            continue
        for line in lines:
            fields = line.split()
            if fields[1].endswith(wanted) and fields[3] == "0A":
                return True
    return False


def kill_all(pids: Iterable[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def kill_netns_processes(inodes: Iterable[int], timeout: float = 10.0) -> list[int]:
    """SIGKILL every process in these network namespaces until none is left.

    SIGKILL because a host's PID 1 under `unshare --fork` ignores SIGTERM, and
    killing a PID 1 takes its whole PID namespace with it. PID 1s go first: their
    `unshare` and `nsenter` parents then exit by themselves and are reaped by their
    own parents instead of piling up as orphans. Returns survivors.
    """
    inodes = set(inodes)
    deadline = time.monotonic() + timeout
    while True:
        pids = pids_in_netns(inodes)
        if not pids or time.monotonic() > deadline:
            return pids
        kill_all([p for p in pids if is_pid_ns_init(p)] or pids)
        time.sleep(0.02)


class HostProcess(subprocess.Popen[Any]):
    """A process started inside a lab host through `nsenter`.

    Entering a PID namespace makes nsenter fork; it waits for its child and exits
    with the child's status, but does not pass signals on. `send_signal` (and so
    `terminate` and `kill`) therefore signals the child, the process inside the
    host, while `wait`, `poll` and `returncode` keep working on nsenter.
    """

    _inner: int | None = None

    def inner_pid(self, timeout: float = 5.0) -> int | None:
        """Outside PID of the process inside the host; None once it has exited."""
        deadline = time.monotonic() + timeout
        while self._inner is None and self.poll() is None:
            found = children(self.pid)
            if found:
                self._inner = found[0]
                break
            if time.monotonic() > deadline:
                break
            time.sleep(0.005)
        return self._inner

    def send_signal(self, sig: int) -> None:
        if self.poll() is not None:
            return
        inner = self.inner_pid()
        with contextlib.suppress(ProcessLookupError):
            os.kill(inner if inner is not None else self.pid, sig)
