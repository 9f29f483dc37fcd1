"""What the lab tests check on the machine itself, independently of pixelfox_lab."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

LAB_ROOT = Path(os.environ.get("PIXELFOX_LAB_ROOT", "/var/lib/pixelfox-lab"))
# Test labs use their own prefixes and subnets, so a developer's lab ("pf") stays untouched.
TEST_PREFIX = "pft"
TEST_SUBNET = "10.78.0.0/24"
TEST_HOSTS = ("app", "s01", "s02", "s03")
_TOOLS = ("ip", "tc", "nsenter", "unshare", "pivot_root", "sshd", "ssh", "ssh-keygen")


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
