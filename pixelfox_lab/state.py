"""The state file that lets a fresh process find, use and tear down a running lab."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pixelfox_lab.config import LabConfig, LabError


@dataclass
class HostRecord:
    address: str
    bandwidth_mbit: float | None = None


@dataclass
class LabState:
    """What `up` and `add_host` decided; processes are found from /proc, not stored."""

    config: LabConfig
    bandwidth_mbit: float | None = None
    hosts: dict[str, HostRecord] = field(default_factory=dict)

    def next_address(self) -> str:
        taken = {h.address for h in self.hosts.values()}
        for address in self.config.host_addresses():
            if address not in taken:
                return address
        raise LabError(f"subnet {self.config.subnet} has no free address left")

    def save(self) -> None:
        path = self.config.state_path
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "prefix": self.config.prefix,
            "subnet": self.config.subnet,
            "domain": self.config.domain,
            "bandwidth_mbit": self.bandwidth_mbit,
            "hosts": {name: asdict(rec) for name, rec in self.hosts.items()},
        }
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        os.replace(tmp, path)

    @classmethod
    def load(cls, prefix: str, root: Path) -> LabState | None:
        path = LabConfig(prefix=prefix, root=root).state_path
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        config = LabConfig(
            prefix=data["prefix"], subnet=data["subnet"], domain=data["domain"], root=root
        )
        hosts = {name: HostRecord(**rec) for name, rec in data["hosts"].items()}
        return cls(config=config, bandwidth_mbit=data["bandwidth_mbit"], hosts=hosts)


@contextlib.contextmanager
def lab_lock(root: Path) -> Iterator[None]:
    """Serialise up, add_host and down of all labs under one root.

    The lock is on the root directory itself, which outlives every lab, so no lock
    file is left behind and none is deleted while someone waits on it.
    """
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
