"""What the lab tests check on the machine itself, independently of pixelfox_lab.

Also how every lab fixture (tests/lab, tests/lab_e2e, tests/ansible) starts its
lab: :func:`require_lab` skips, or fails under ``PIXELFOX_REQUIRE_LAB=1``, when
the machine cannot run one, and :func:`running_lab` holds the lab's prefix for
this run alone before it clears what a crashed run left and brings it up.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from pixelfox_lab import Lab

LAB_ROOT = Path(os.environ.get("PIXELFOX_LAB_ROOT", "/var/lib/pixelfox-lab"))
# Test labs use their own prefixes and subnets, so a developer's lab ("pf") stays untouched.
TEST_PREFIX = "pft"
TEST_SUBNET = "10.78.0.0/24"
TEST_HOSTS = ("app", "s01", "s02", "s03")
_TOOLS = ("ip", "tc", "nsenter", "unshare", "pivot_root", "sshd", "ssh", "ssh-keygen")


# CI sets it (scripts/test does when CI=true): a green run must mean the lab ran.
REQUIRE_LAB = "PIXELFOX_REQUIRE_LAB"
# Machine-wide, one file per prefix: two runs never use one prefix at once, and
# runs on different prefixes do not wait for each other.
LOCK_DIR = Path(os.environ.get("PIXELFOX_LAB_LOCK_DIR", "/run/lock"))
# Another run's lab module (Ansible builds a whole installation) takes minutes.
LOCK_WAIT_SECONDS = 3600.0


def require_lab() -> None:
    """Skip, saying why, when lab tests cannot run here; under PIXELFOX_REQUIRE_LAB=1 fail."""
    reason = lab_unsupported_reason()
    if reason is None:
        return
    if os.environ.get(REQUIRE_LAB) == "1":
        pytest.fail(f"{REQUIRE_LAB}=1, but lab tests cannot run here: {reason}", pytrace=False)
    pytest.skip(reason)


@contextlib.contextmanager
def prefix_held(prefix: str, wait: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """This run alone uses lab ``prefix`` until the block ends; another run waits for it.

    Without it, a second run's clean-up (``down`` of the prefix) would kill the
    lab the first run is testing on. The lock goes with the process that holds
    it, also when that process is killed.
    """
    LOCK_DIR.mkdir(parents=True, exist_ok=True)
    path = LOCK_DIR / f"pixelfox-test-lab-{prefix}.lock"
    with path.open("a+") as lock:
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.fail(f"lab prefix {prefix!r} is still in use by {_holder(path)}")
                if not told:
                    print(f"waiting for lab prefix {prefix!r} ({_holder(path)})", file=sys.stderr)
                    told = True
                time.sleep(1)
        lock.truncate(0)
        lock.write(f"pid {os.getpid()}: {' '.join(sys.argv)[:200]}\n")
        lock.flush()
        yield


def _holder(path: Path) -> str:
    return path.read_text().strip() or "another test run"


@contextlib.contextmanager
def running_lab(hosts: Sequence[str], prefix: str, subnet: str) -> Iterator[Lab]:
    """A lab of ``hosts`` under ``prefix``, this run's alone, torn down when the block ends."""
    require_lab()
    with prefix_held(prefix):
        Lab(hosts=(), prefix=prefix).down()  # a crashed earlier run may have left it
        with Lab(hosts=hosts, prefix=prefix, subnet=subnet) as running:
            yield running


def lab_unsupported_reason() -> str | None:
    """Why lab tests cannot run here, or None if they can."""
    if os.geteuid() != 0:
        return "lab tests need root (network namespaces, mounts)"
    missing = [t for t in _TOOLS if shutil.which(t) is None]
    if missing:
        return f"missing {', '.join(missing)}: run scripts/lab-system-deps"
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"`ip netns` is unavailable: {probe.stderr.strip()}"
    return None


def is_running(pid: int) -> bool:
    """A zombie has stopped running; only its parent can still collect it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def lab_remains(prefix: str, subnet: str) -> list[str]:
    """Namespaces, interfaces, routes, mounts, processes and files a lab left behind."""
    remains: list[str] = []
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    remains += [f"netns {line}" for line in netns.splitlines() if line.startswith(f"{prefix}-")]
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    remains += [f"link {line}" for line in links.splitlines() if f" {prefix}-" in line]
    net = subnet.rsplit(".", 1)[0] + "."
    for kind in ("route", "addr"):
        out = subprocess.run(["ip", "-o", kind], capture_output=True, text=True).stdout
        remains += [f"{kind} {line}" for line in out.splitlines() if net in line]
    lab_dir = f"{LAB_ROOT}/{prefix}/"
    mounts = Path("/proc/self/mountinfo").read_text()
    remains += [
        f"mount {line}"
        for line in mounts.splitlines()
        if lab_dir in line or f"/run/netns/{prefix}-" in line
    ]
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if lab_dir in cmdline or f"/run/netns/{prefix}-" in cmdline:
            remains.append(f"process {pid} {cmdline[:120]}")
    for path in (LAB_ROOT / prefix, Path(f"/etc/netns/{prefix}-ctl")):
        if path.exists():
            remains.append(f"path {path}")
    return remains
