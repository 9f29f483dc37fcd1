"""`down` leaves nothing behind: after a normal run, a failed `up` and a crash."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pixelfox_lab import Lab, LabError, hosts
from pixelfox_lab.config import LabConfig
from tests.lab.helpers import LAB_ROOT, is_running, lab_remains, prefix_held, require_lab

pytestmark = pytest.mark.lab

PREFIX = "pftd"
SUBNET = "10.79.0.0/24"
_CRASH_HALF_WAY = f"""
import os
from pixelfox_lab import Lab, hosts

real_start = hosts.start

def start(config, name):
    if name == "s02":
        os._exit(3)
    return real_start(config, name)

hosts.start = start
Lab(hosts=["app", "s01", "s02", "s03"], prefix={PREFIX!r}, subnet={SUBNET!r}).up()
"""


@pytest.fixture(scope="module", autouse=True)
def _own_prefix() -> Iterator[None]:
    """These tests make and break labs of their own prefix; no other run may use it meanwhile."""
    require_lab()
    with prefix_held(PREFIX):
        yield


@pytest.fixture(autouse=True)
def _clean_prefix(_own_prefix: None) -> None:
    Lab(hosts=(), prefix=PREFIX).down()


def test_down_leaves_nothing_behind() -> None:
    with Lab(hosts=["s01", "s02"], prefix=PREFIX, subnet=SUBNET, bandwidth_mbit=100) as lab:
        assert "tbf" in lab.run("s01", "tc qdisc show dev eth0").stdout
        service = lab.popen("s01", ["sleep", "3600"])
        controller_job = lab.controller.popen(["sleep", "3600"])
        pids = [h.pid for h in lab.status().hosts] + [service.inner_pid(), controller_job.pid]
        assert lab_remains(PREFIX, SUBNET)
    assert lab_remains(PREFIX, SUBNET) == []
    assert [pid for pid in pids if pid is not None and is_running(pid)] == []
    assert service.returncode is not None and controller_job.returncode is not None


def test_down_is_idempotent_and_works_on_a_lab_that_never_existed() -> None:
    Lab(hosts=(), prefix=PREFIX).down()
    Lab(hosts=(), prefix=PREFIX).down()
    assert lab_remains(PREFIX, SUBNET) == []


def test_a_failure_half_way_through_up_tears_down_what_was_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_start = hosts.start

    def start(config: LabConfig, name: str) -> subprocess.Popen[bytes]:
        if name == "s02":
            raise OSError("simulated failure")
        return real_start(config, name)

    monkeypatch.setattr(hosts, "start", start)
    with pytest.raises(OSError, match="simulated failure"):
        Lab(hosts=["app", "s01", "s02", "s03"], prefix=PREFIX, subnet=SUBNET).up()
    assert lab_remains(PREFIX, SUBNET) == []


@pytest.mark.parametrize("state_file", ["kept", "lost"])
def test_down_from_a_fresh_process_cleans_up_after_a_crash_half_way_through_up(
    state_file: str,
) -> None:
    crash = subprocess.run([sys.executable, "-c", _CRASH_HALF_WAY], capture_output=True)
    assert crash.returncode == 3, crash.stderr
    assert any(line.startswith("process") for line in lab_remains(PREFIX, SUBNET))
    with pytest.raises(LabError, match="exists already"):
        Lab(hosts=["app"], prefix=PREFIX, subnet=SUBNET).up()
    if state_file == "lost":
        Path(LAB_ROOT, PREFIX, "state.json").unlink()

    Lab(hosts=(), prefix=PREFIX).down()

    assert lab_remains(PREFIX, SUBNET) == []
