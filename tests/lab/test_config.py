"""The lab's plan — names, addresses, state — checked without root or namespaces."""

from __future__ import annotations

from pathlib import Path

import pytest

from pixelfox_lab import Lab, LabError
from pixelfox_lab.config import LabConfig
from pixelfox_lab.hosts import render_etc_hosts
from pixelfox_lab.state import HostRecord, LabState


@pytest.mark.parametrize("prefix", ["", "pf-x", "PF", "1pf", "toolongprefix"])
def test_a_prefix_that_could_collide_or_break_names_is_refused(prefix: str) -> None:
    with pytest.raises(LabError, match="invalid prefix"):
        LabConfig(prefix=prefix)


@pytest.mark.parametrize(
    "name", ["", "S01", "s_01", "s01-", "sixteen-chars-xx", "controller", "sw"]
)
def test_a_host_name_that_is_no_dns_label_or_is_reserved_is_refused(name: str) -> None:
    with pytest.raises(LabError, match="invalid host name"):
        Lab(hosts=[name])


def test_duplicate_host_names_are_refused() -> None:
    with pytest.raises(LabError, match="duplicate"):
        Lab(hosts=["s01", "s01"])


def test_addresses_gateway_first_controller_second_hosts_from_ten() -> None:
    config = LabConfig(prefix="pfx", subnet="10.90.0.0/24")
    assert config.gateway == "10.90.0.1"
    assert config.controller_address == "10.90.0.2"
    state = LabState(config)
    for name in ("app", "s01"):
        state.hosts[name] = HostRecord(state.next_address())
    assert [h.address for h in state.hosts.values()] == ["10.90.0.10", "10.90.0.11"]


def test_namespaces_of_two_prefixes_never_overlap() -> None:
    pf, pft = LabConfig(prefix="pf"), LabConfig(prefix="pft")
    assert not pf.owns_netns(pft.host_ns("s01"))
    assert not pft.owns_netns(pf.switch_ns)
    assert pf.owns_netns(pf.controller_ns)


def test_etc_hosts_names_the_controller_and_every_host() -> None:
    config = LabConfig(subnet="10.90.0.0/24")
    text = render_etc_hosts(config, {"app": "10.90.0.10", "s01": "10.90.0.11"})
    assert "10.90.0.2\tcontroller.pixelfox.test controller" in text.splitlines()
    assert "10.90.0.11\ts01.pixelfox.test s01" in text.splitlines()
    assert "127.0.0.1\tlocalhost" in text.splitlines()


def test_state_survives_a_round_trip_through_its_file(tmp_path: Path) -> None:
    config = LabConfig(prefix="pfx", subnet="10.90.0.0/24", root=tmp_path)
    state = LabState(config, bandwidth_mbit=200.0, hosts={"s01": HostRecord("10.90.0.10", 50.0)})
    state.save()
    loaded = LabState.load("pfx", tmp_path)
    assert loaded == state
    assert LabState.load("other", tmp_path) is None
