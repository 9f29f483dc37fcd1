"""The lab's Ansible inventory (``inventory/lab/hosts.yml``): adding a host to a group.

The file is edited as text, so its comments stay: the host goes on its own line
after the group's last host. Adding a host that is listed already changes nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml  # type: ignore[import-untyped]

from pixelfox_lab.config import LabError

# Where `add-host` lists a new host, relative to the repository.
LAB_INVENTORY = Path(__file__).resolve().parent.parent / "inventory" / "lab" / "hosts.yml"


def groups(path: Path) -> dict[str, list[str]]:
    """Group name → its hosts, as Ansible reads the file."""
    data = yaml.safe_load(path.read_text()) or {}
    children = (data.get("all") or {}).get("children") or {}
    return {name: list((body or {}).get("hosts") or {}) for name, body in children.items()}


def add_host(path: Path, host: str, group: str = "storage") -> bool:
    """List ``host`` under ``group``; False when it is there already."""
    listed = groups(path)
    if group not in listed:
        raise LabError(f"{path} has no group {group!r} (it has: {', '.join(listed)})")
    if host in listed[group]:
        return False
    lines = path.read_text().splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if re.match(rf"^\s+{group}:\s*$", line))
    hosts_at = next(i for i in range(start + 1, len(lines)) if lines[i].strip() == "hosts:")
    indent = len(lines[hosts_at]) - len(lines[hosts_at].lstrip()) + 2
    insert = hosts_at + 1
    while insert < len(lines) and (
        not lines[insert].strip() or len(lines[insert]) - len(lines[insert].lstrip()) >= indent
    ):
        insert += 1
    # Blank lines between the group's last host and the next key stay after it.
    while insert > hosts_at + 1 and not lines[insert - 1].strip():
        insert -= 1
    lines.insert(insert, f"{' ' * indent}{host}:\n")
    path.write_text("".join(lines))
    if host not in groups(path).get(group, []):
        raise LabError(f"could not add {host} to {group} in {path}")
    return True
