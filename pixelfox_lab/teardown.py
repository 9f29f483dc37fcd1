"""Tearing a lab down from whatever is left of it, and proving nothing is.

Everything is found from the prefix alone (named namespaces, /proc, mountinfo,
the lab directory), so `down` works from a fresh process, after a failed `up`
and after a crash that left no or only a partial state file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pixelfox_lab.config import LabConfig, LabError
from pixelfox_lab.network import NETNS_DIR, delete_netns, lab_netns, netns_path
from pixelfox_lab.procs import (
    PROC,
    all_pids,
    kill_netns_processes,
    netns_file_inode,
    run,
)


def _lab_mounts(config: LabConfig) -> list[str]:
    """Mount points of the machine's namespace that belong to this lab."""
    marks = (f"{config.lab_dir}/", f"{NETNS_DIR}/{config.prefix}-")
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point == str(config.lab_dir) or point.startswith(marks):
            points.append(point)
    return points


def _lab_processes(config: LabConfig) -> list[str]:
    """Live processes whose command line names this lab's directory or namespaces."""
    marks = (f"{config.lab_dir}/", f"{NETNS_DIR}/{config.prefix}-")
    names = set(lab_netns(config))
    found = []
    for pid in all_pids():
        try:
            args = (PROC / str(pid) / "cmdline").read_bytes().decode(errors="replace")
        except (FileNotFoundError, ProcessLookupError):
            continue
        argv = args.split("\0")
        if any(m in args for m in marks) or names.intersection(argv):
            found.append(f"process {pid}: {' '.join(argv[:8])[:120]}".replace("\n", " "))
    return found


def find_leftovers(config: LabConfig) -> list[str]:
    """Everything of this lab that still exists on the machine, one line each."""
    found = [f"network namespace {n}" for n in lab_netns(config)]
    found += [f"mount {m}" for m in _lab_mounts(config)]
    found += _lab_processes(config)
    found += [
        f"interface {n} in the machine's namespace"
        for n in os.listdir("/sys/class/net")
        if n.startswith(f"{config.prefix}-")
    ]
    found += [f"directory {d}" for d in (config.lab_dir, config.netns_etc_dir) if d.exists()]
    return found


def teardown(config: LabConfig, own_children: Iterable[subprocess.Popen[Any]] = ()) -> None:
    """Kill, unmount and delete everything of the lab; idempotent.

    `own_children` are processes this Python process started (host launchers,
    services); they are reaped so that no zombie stays behind.
    """
    names = lab_netns(config)
    inodes = {i for i in (netns_file_inode(netns_path(n)) for n in names) if i is not None}
    survivors = kill_netns_processes(inodes)
    for child in own_children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=5)
    for name in names:
        delete_netns(name)
    shutil.rmtree(config.netns_etc_dir, ignore_errors=True)
    with contextlib.suppress(OSError):
        config.netns_etc_dir.parent.rmdir()
    for point in sorted(_lab_mounts(config), key=len, reverse=True):
        run(["umount", "-l", point], check=False)
    shutil.rmtree(config.lab_dir, ignore_errors=True)
    leftovers = [f"process {pid} survived SIGKILL" for pid in survivors]
    leftovers += find_leftovers(config)
    if leftovers:
        raise LabError(f"lab {config.prefix!r} is not fully down:\n" + "\n".join(leftovers))
