"""``forward``: reach the lab's hosts from this machine's own loopback.

The lab's addresses exist only inside its namespaces. Each host gets a
loopback address of its own here (``127.0.80.1`` for the first, …) on the same
port (80: the lab serves plain HTTP), relayed by socat into the controller's
namespace and on to the host. Pointing the hosts' names at those addresses
(``/etc/hosts`` lines, printed) makes a browser on this machine see the lab as
its users would: the app's admin at ``http://app.pixelfox.test/``, images from
``http://s01.pixelfox.test/uploads/…``, with the origins the app expects.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

from pixelfox_lab.lab import Lab

LOOPBACK_NET = "127.0.80"


@dataclass(frozen=True)
class Forward:
    host: str
    dns_name: str
    listen: str
    port: int
    target: str

    def hosts_line(self) -> str:
        return f"{self.listen} {self.dns_name}"


def plan(lab: Lab, hosts: list[str], port: int = 80) -> list[Forward]:
    """One loopback address per host, in the lab's order."""
    order = [h for h in lab.hosts if h in hosts] if hosts else lab.hosts
    return [
        Forward(host, lab.dns_name(host), f"{LOOPBACK_NET}.{i}", port, lab.address(host))
        for i, host in enumerate(order, start=1)
    ]


def socat_argv(lab: Lab, forward: Forward) -> list[str]:
    """A relay listening here that opens each connection from inside the controller."""
    inner = (
        f"ip netns exec {lab.config.controller_ns} socat STDIO TCP:{forward.target}:{forward.port}"
    )
    return [
        "socat",
        f"TCP-LISTEN:{forward.port},bind={forward.listen},fork,reuseaddr",
        f"EXEC:{inner}",
    ]


def start(lab: Lab, forwards: list[Forward]) -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen(socat_argv(lab, f)) for f in forwards]
