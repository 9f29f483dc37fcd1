"""Names, addresses and paths of one lab, all derived from its prefix."""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_HOSTS = ("app", "s01", "s02")
DEFAULT_PREFIX = "pf"
DEFAULT_SUBNET = "10.77.0.0/24"
DEFAULT_DOMAIN = "pixelfox.test"
DEFAULT_ROOT = Path(os.environ.get("PIXELFOX_LAB_ROOT", "/var/lib/pixelfox-lab"))

CONTROLLER = "controller"
# Host names double as interface names in the switch namespace (at most 15 bytes)
# and as DNS labels; the reserved ones name the lab's own namespaces.
_HOST_NAME = re.compile(r"^[a-z][a-z0-9-]{0,14}$")
_RESERVED_NAMES = frozenset({CONTROLLER, "ctl", "sw", "br0", "gateway", "localhost"})
# A dash separates prefix and host in namespace names, so prefixes have none:
# labs "pf" and "pft" can never claim each other's namespaces.
_PREFIX = re.compile(r"^[a-z][a-z0-9]{0,7}$")
# Offsets inside the subnet: .1 gateway, .2 controller, hosts from .10 on.
_GATEWAY_OFFSET = 1
_CONTROLLER_OFFSET = 2
_FIRST_HOST_OFFSET = 10


class LabError(RuntimeError):
    """The lab cannot do what was asked; the message says why."""


def validate_host_name(name: str) -> str:
    if not _HOST_NAME.match(name) or name.endswith("-") or name in _RESERVED_NAMES:
        raise LabError(
            f"invalid host name {name!r}: use 1-15 of a-z, 0-9 and '-', starting with a "
            f"letter, not one of {sorted(_RESERVED_NAMES)}"
        )
    return name


@dataclass(frozen=True)
class LabConfig:
    """Everything about a lab that does not change while it runs."""

    prefix: str = DEFAULT_PREFIX
    subnet: str = DEFAULT_SUBNET
    domain: str = DEFAULT_DOMAIN
    root: Path = field(default=DEFAULT_ROOT)

    def __post_init__(self) -> None:
        if not _PREFIX.match(self.prefix):
            raise LabError(f"invalid prefix {self.prefix!r}: use 1-8 of a-z and 0-9")
        network = ipaddress.IPv4Network(self.subnet)
        if network.num_addresses < 16:
            raise LabError(f"subnet {self.subnet} is too small for a lab")
        if not self.root.is_absolute():
            raise LabError(f"lab root {self.root} must be an absolute path")

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.subnet)

    @property
    def prefixlen(self) -> int:
        return self.network.prefixlen

    @property
    def gateway(self) -> str:
        return str(self.network[_GATEWAY_OFFSET])

    @property
    def controller_address(self) -> str:
        return str(self.network[_CONTROLLER_OFFSET])

    def host_addresses(self) -> list[str]:
        """Addresses hosts may get, in the order they are handed out."""
        return [str(a) for a in list(self.network.hosts())[_FIRST_HOST_OFFSET - 1 :]]

    @property
    def switch_ns(self) -> str:
        return f"{self.prefix}-sw"

    @property
    def controller_ns(self) -> str:
        return f"{self.prefix}-ctl"

    def host_ns(self, host: str) -> str:
        return f"{self.prefix}-{host}"

    def owns_netns(self, netns: str) -> bool:
        return netns.startswith(f"{self.prefix}-")

    def dns_name(self, host: str) -> str:
        return f"{host}.{self.domain}"

    @property
    def lab_dir(self) -> Path:
        return self.root / self.prefix

    @property
    def state_path(self) -> Path:
        return self.lab_dir / "state.json"

    @property
    def controller_dir(self) -> Path:
        return self.lab_dir / "controller"

    def host_dir(self, host: str) -> Path:
        return self.lab_dir / "hosts" / host

    def log_path(self, host: str) -> Path:
        return self.lab_dir / "logs" / f"{host}.log"

    @property
    def netns_etc_dir(self) -> Path:
        """Files `ip netns exec` binds over /etc for the controller."""
        return Path("/etc/netns") / self.controller_ns
