"""No playbook or role waits idly: every pause, retry delay, poll interval and sleep is
at most a few seconds (waits for something happen by polling it, not by a timer)."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import ROOT

MAX_IDLE_SECONDS = 5
SLEEP = re.compile(r"\bsleep\s+(\d+(?:\.\d+)?)")
FILES = sorted([*ROOT.glob("playbooks/*.yml"), *ROOT.glob("roles/*/*/*.yml")])


def _tasks(node: Any) -> Iterator[dict[str, Any]]:
    """Every mapping in the YAML tree (tasks, handlers, blocks, plays)."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _tasks(value)
    elif isinstance(node, list):
        for item in node:
            yield from _tasks(item)


@functools.cache
def _definitions() -> dict[str, Any]:
    """Every variable the playbooks and roles define (play vars, role defaults and vars)."""
    found: dict[str, Any] = {}
    for path in FILES:
        for mapping in _tasks(yaml.safe_load(path.read_text())):
            found.update({k: v for k, v in mapping.items() if isinstance(k, str)})
    return found


def _seconds(value: Any, defined: dict[str, Any], depth: int = 0) -> float | None:
    """A number of seconds, following ``{{ var }}`` and ``| default(N)``; None if unknown."""
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str) or depth > 5:
        return None
    if value.strip().replace(".", "", 1).isdigit():
        return float(value)
    default = re.search(r"default\((\d+(?:\.\d+)?)\)", value)
    if default:
        return float(default.group(1))
    var = re.fullmatch(r"\s*\{\{\s*(\w+)\s*\}\}\s*", value)
    if var and var.group(1) in defined:
        return _seconds(defined[var.group(1)], defined, depth + 1)
    return None


def idle_waits(path: Path) -> list[tuple[str, float]]:
    """(what, seconds) of every wait in one file."""
    found: list[tuple[str, float]] = []
    tree = yaml.safe_load(path.read_text())
    defined = dict(_definitions())
    defined.update({k: v for m in _tasks(tree) for k, v in m.items() if isinstance(k, str)})

    def seconds(value: Any) -> float:
        # Unknown counts as too long: a wait must say its bound where it can be read.
        found_seconds = _seconds(value, defined)
        return float("inf") if found_seconds is None else found_seconds

    for task in _tasks(tree):
        name = str(task.get("name", "?"))
        for module in ("ansible.builtin.pause", "pause"):
            pause = task.get(module)
            if isinstance(pause, dict):
                total = seconds(pause["seconds"]) if "seconds" in pause else 0.0
                total += 60 * seconds(pause["minutes"]) if "minutes" in pause else 0.0
                found.append((f"{name}: pause", total))
            elif module in task:
                found.append((f"{name}: pause without a limit", float("inf")))
        for module in ("ansible.builtin.wait_for", "wait_for"):
            wait = task.get(module)
            if isinstance(wait, dict) and "delay" in wait:
                found.append((f"{name}: wait_for delay", seconds(wait["delay"])))
        for key in ("delay", "poll"):
            if key in task and ("until" in task or "async" in task):
                found.append((f"{name}: {key}", seconds(task[key])))
        for text in (str(v) for v in task.values() if isinstance(v, str | list)):
            found += [(f"{name}: sleep", float(m)) for m in SLEEP.findall(text)]
    return found


def test_the_check_finds_every_kind_of_wait(tmp_path: Path) -> None:
    sample = tmp_path / "sample.yml"
    sample.write_text(
        '- name: a\n  vars:\n    settle: "{{ s | default(70) }}"\n'
        '  ansible.builtin.pause:\n    seconds: "{{ settle }}"\n'
        "- name: b\n  ansible.builtin.command: sleep 30\n"
        "- name: c\n  ansible.builtin.command: x\n  until: y\n  retries: 3\n  delay: 10\n"
    )
    assert sorted(seconds for _, seconds in idle_waits(sample)) == [10.0, 30.0, 70.0]


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_playbook_or_role_waits_longer_than_five_seconds_at_a_time(path: Path) -> None:
    long = [(what, s) for what, s in idle_waits(path) if s > MAX_IDLE_SECONDS]
    assert not long, f"{path.relative_to(ROOT)}: {long}"
