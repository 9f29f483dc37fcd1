"""The preflight's idea of a private address (playbooks/filter_plugins/pixelfox_addresses.py)."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import pytest

from tests.ansible.helpers import REPO


def _filters() -> ModuleType:
    path = REPO / "playbooks" / "filter_plugins" / "pixelfox_addresses.py"
    spec = importlib.util.spec_from_file_location("pixelfox_addresses", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.254", "192.168.1.1", "100.64.0.1",
     "::1", "fd00::10", "[fd12::1]", "-::1", "::ffff:10.0.0.1"],
)  # fmt: skip
def test_private_addresses(address: str) -> None:
    assert _filters().pixelfox_is_private(address)


@pytest.mark.parametrize(
    "address",
    ["203.0.113.10", "172.32.0.1", "8.8.8.8", "2001:db8::1", "0.0.0.0", "::", "*",
     "app.example.net", "", "169.254.1.1"],
)  # fmt: skip
def test_public_or_unknown_addresses(address: str) -> None:
    assert not _filters().pixelfox_is_private(address)


def test_urls_go_to_the_inventory_hosts_address() -> None:
    filters = _filters()
    addresses = {
        "app": "10.0.0.10",
        "app.example.net": "10.0.0.10",
        "s01.example.net": "203.0.113.21",
    }

    found = filters.pixelfox_plaintext_urls(
        ["http://app.example.net", "http://s01.example.net/api/internal/upload",
         "https://s01.example.net/", "http://198.51.100.7:8080/", "http://elsewhere.net/"],
        addresses,
    )  # fmt: skip

    assert found == [
        "http://s01.example.net/api/internal/upload (203.0.113.21)",
        "http://198.51.100.7:8080/ (198.51.100.7)",
        "http://elsewhere.net/ (elsewhere.net)",
    ]
