"""Child processes of ``pixelfox up``: start, watch, and stop them as a group.

Each child runs in its own session (so its process group id is its pid) with
its output appended to ``<log_dir>/<name>.log``. Stopping sends SIGTERM to the
whole group, waits, then SIGKILLs whatever is left, so a child's own helpers
go down with it. Children are stopped layer by layer, the last started
first: the control worker, then the node and its worker, then the app, and
the private Redis they all depend on last.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

LOG_HEADER = "=== pixelfox up: starting"


class ChildFailed(Exception):
    """A child exited or never became healthy; the message names it."""

    def __init__(self, child: Child, reason: str) -> None:
        super().__init__(f"{child.name} {reason}")
        self.child = child


class StopRequested(Exception):
    """The operator asked to stop (SIGINT, SIGTERM or SIGHUP) while we were waiting."""


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    # Stop order: higher layers first (services and workers before the Redis they use).
    layer: int = 1
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        """The last lines this child wrote since its latest start."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        text = text.rsplit(LOG_HEADER, 1)[-1].split("\n", 1)[-1]
        return "\n".join(text.rstrip("\n").splitlines()[-lines:])


@dataclass
class Supervisor:
    """Owns the children of one ``pixelfox up`` run.

    ``should_stop`` is polled by every wait so that a signal during start-up
    is honoured within a fraction of a second.
    """

    log_dir: Path
    pid_file: Path
    should_stop: Callable[[], bool]
    children: list[Child] = field(default_factory=list)

    def start(
        self, name: str, argv: list[str], env: dict[str, str], cwd: Path, layer: int = 1
    ) -> Child:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        child = Child(name, argv, env, self.log_dir / f"{name}.log", layer)
        with child.log_path.open("ab") as log:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            log.write(f"{LOG_HEADER} {name} at {stamp}: {' '.join(argv)}\n".encode())
            log.flush()
            child.proc = subprocess.Popen(
                argv,
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Own session: a terminal's Ctrl-C reaches only us, and we stop
                # children in order; killpg reaches a child's helpers too.
                start_new_session=True,
            )
        child.started_at = time.monotonic()
        self.children.append(child)
        self._write_pid_file()
        return child

    def _write_pid_file(self) -> None:
        # "<name> <pid> <start time>": the start time tells a leftover child of
        # ours from an unrelated process that got the same pid later.
        entries = [("up", os.getpid())] + [(c.name, c.pid) for c in self.children]
        lines = [f"{name} {pid} {process_start_time(pid)}" for name, pid in entries]
        tmp = self.pid_file.with_suffix(".tmp")
        tmp.write_text("\n".join(lines) + "\n")
        tmp.replace(self.pid_file)

    def stop_leftovers(self, report: Callable[[str], None]) -> None:
        """Stop children a previous run left behind when it was killed outright.

        Only call this while holding the data dir's lock: then no other run owns them.
        """
        try:
            lines = self.pid_file.read_text().splitlines()
        except FileNotFoundError:
            return
        for line in lines:
            try:
                name, pid_text, started = line.split()
                pid = int(pid_text)
            except ValueError:
                continue
            if name == "up" or process_start_time(pid) != started:
                continue
            _signal_group(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while process_start_time(pid) == started and time.monotonic() < deadline:
                time.sleep(0.05)
            _signal_group(pid, signal.SIGKILL)
            report(f"stopped {name} (pid {pid}) left running by a previous run")
        self.pid_file.unlink(missing_ok=True)

    def sleep(self, seconds: float) -> None:
        """Sleep in small steps; raise StopRequested as soon as a stop is asked for."""
        deadline = time.monotonic() + seconds
        while True:
            if self.should_stop():
                raise StopRequested
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(0.1, left))

    def wait_healthy(self, child: Child, url: str, timeout: float = 60.0) -> float:
        """Poll ``url`` until it answers 200; returns the seconds it took."""
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=1.0) as client:
            while time.monotonic() < deadline:
                if not child.alive():
                    raise ChildFailed(child, f"exited during start-up ({self._exit(child)})")
                try:
                    if client.get(url).status_code == 200:
                        return time.monotonic() - child.started_at
                except httpx.HTTPError:
                    pass
                self.sleep(0.1)
        raise ChildFailed(child, f"did not answer {url} within {timeout:.0f} s")

    def wait_alive(self, child: Child, seconds: float) -> None:
        """For children without a health endpoint: still running after ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not child.alive():
                raise ChildFailed(child, f"exited during start-up ({self._exit(child)})")
            self.sleep(0.1)

    def watch(self) -> None:
        """Block until a stop is requested (returns) or a child dies (raises)."""
        while True:
            for child in self.children:
                if not child.alive():
                    raise ChildFailed(child, f"exited unexpectedly ({self._exit(child)})")
            try:
                self.sleep(0.25)
            except StopRequested:
                return

    @staticmethod
    def _exit(child: Child) -> str:
        code = child.proc.returncode if child.proc else None
        if code is not None and code < 0:
            return f"killed by {signal.Signals(-code).name}"
        return f"exit code {code}"

    def stop_all(self, timeout: float = 10.0, report: Callable[[str], None] | None = None) -> None:
        """Stop every child: SIGTERM to its group, SIGKILL after ``timeout``.

        Children of one layer stop together (they do not depend on each other);
        lower layers, such as a private Redis, stop after the layers above them.
        """
        for layer in sorted({c.layer for c in self.children}, reverse=True):
            group = [c for c in reversed(self.children) if c.layer == layer and c.proc]
            for child in group:
                if child.alive():
                    _signal_group(child.pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while any(c.alive() for c in group) and time.monotonic() < deadline:
                time.sleep(0.05)
            for child in group:
                assert child.proc is not None
                if child.alive():
                    if report:
                        report(f"{child.name} did not stop within {timeout:.0f} s; killing it")
                    _signal_group(child.pid, signal.SIGKILL)
                    child.proc.wait(5)
                # Helpers the child left behind in its group go too.
                _signal_group(child.pid, signal.SIGKILL)
                if report:
                    report(f"stopped {child.name}")
        self.pid_file.unlink(missing_ok=True)


def process_start_time(pid: int) -> str:
    """The kernel's start time of a live process ("" when there is none, or a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    fields = stat.rsplit(")", 1)[1].split()
    # fields[0] is the state (field 3 of stat); the start time is field 22.
    return "" if fields[0] == "Z" else fields[19]


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
