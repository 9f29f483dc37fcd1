"""The lab's network: one bridge in a switch namespace, one veth per namespace on it.

Every interface is created directly inside a lab namespace (`ip -n`), so the
machine's own namespace never holds a lab interface, address or route, not even
for a moment. Deleting a namespace deletes its interfaces and their peers.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from pixelfox_lab.config import LabConfig
from pixelfox_lab.procs import run

NETNS_DIR = Path("/run/netns")
BRIDGE = "br0"
HOST_IF = "eth0"
# tbf needs a bucket of at least one GSO packet (64 KiB on veth); 50 ms of
# traffic keeps short transfers close to the cap at every rate.
_MIN_BURST_BYTES = 64 * 1024
_BURST_SECONDS = 0.05


def ip(netns: str, *args: str, check: bool = True) -> str:
    return run(["ip", "-n", netns, *args], check=check).stdout


def netns_path(netns: str) -> Path:
    return NETNS_DIR / netns


def lab_netns(config: LabConfig) -> list[str]:
    """Names of this lab's namespaces that exist now."""
    try:
        names = [p.name for p in NETNS_DIR.iterdir()]
    except FileNotFoundError:
        return []
    return sorted(n for n in names if config.owns_netns(n))


def add_netns(netns: str) -> None:
    run(["ip", "netns", "add", netns])
    ip(netns, "link", "set", "lo", "up")


def delete_netns(netns: str) -> None:
    """Delete a named namespace; a stuck mount point is detached and removed."""
    if run(["ip", "netns", "del", netns], check=False).returncode == 0:
        return
    path = netns_path(netns)
    run(["umount", "-l", str(path)], check=False)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _sysctl(netns: str, key: str, value: str) -> None:
    path = "/proc/sys/" + key.replace(".", "/")
    run(["nsenter", f"--net={netns_path(netns)}", "sh", "-c", f"echo {value} > {path}"])


def create_switch(config: LabConfig) -> None:
    """The switch namespace: a bridge holding the gateway address, forwarding nothing."""
    ns = config.switch_ns
    add_netns(ns)
    _sysctl(ns, "net.ipv4.ip_forward", "0")
    _sysctl(ns, "net.ipv6.conf.all.forwarding", "0")
    ip(ns, "link", "add", BRIDGE, "type", "bridge")
    ip(ns, "addr", "add", f"{config.gateway}/{config.prefixlen}", "dev", BRIDGE)
    ip(ns, "link", "set", BRIDGE, "up")


def attach(config: LabConfig, netns: str, port: str, address: str) -> None:
    """Plug `netns` into the switch: its `eth0` is `address`, the switch side is `port`."""
    ip(
        netns,
        "link",
        "add",
        HOST_IF,
        "type",
        "veth",
        "peer",
        "name",
        port,
        "netns",
        config.switch_ns,
    )
    ip(config.switch_ns, "link", "set", port, "master", BRIDGE, "up")
    ip(netns, "addr", "add", f"{address}/{config.prefixlen}", "dev", HOST_IF)
    ip(netns, "link", "set", HOST_IF, "up")
    ip(netns, "route", "add", "default", "via", config.gateway)


def set_bandwidth(config: LabConfig, netns: str, port: str, mbit: float | None) -> None:
    """Cap both directions of one veth with tbf (the kernel here has no netem).

    The host's `eth0` shapes what it sends, the switch-side `port` what it receives.
    """
    for ns, dev in ((netns, HOST_IF), (config.switch_ns, port)):
        if mbit is None:
            run(["tc", "-n", ns, "qdisc", "del", "dev", dev, "root"], check=False)
            continue
        burst = max(_MIN_BURST_BYTES, int(mbit * 1e6 / 8 * _BURST_SECONDS))
        shape = ["tbf", "rate", f"{mbit}mbit", "burst", str(burst), "latency", "50ms"]
        run(["tc", "-n", ns, "qdisc", "replace", "dev", dev, "root", *shape])
