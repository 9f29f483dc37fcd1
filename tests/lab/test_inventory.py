"""``add-host`` lists the new host in the lab's inventory, keeping the file's comments."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pixelfox_lab.config import LabError
from pixelfox_lab.inventory import LAB_INVENTORY, add_host, groups


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    copy = tmp_path / "hosts.yml"
    shutil.copy(LAB_INVENTORY, copy)
    return copy


def test_the_lab_inventory_lists_the_hosts_the_lab_starts_by_default() -> None:
    from pixelfox_lab.config import DEFAULT_HOSTS

    listed = groups(LAB_INVENTORY)
    assert ("app", *listed["storage"]) == DEFAULT_HOSTS
    assert listed["control"] == ["app"]


def test_a_new_host_is_listed_under_storage_once_and_comments_stay(inventory: Path) -> None:
    before = inventory.read_text()

    assert add_host(inventory, "s03") is True
    assert add_host(inventory, "s03") is False

    assert groups(inventory)["storage"] == ["s01", "s02", "s03"]
    comments = [line for line in before.splitlines() if line.startswith("#")]
    assert [line for line in inventory.read_text().splitlines() if line.startswith("#")] == comments


def test_an_unknown_group_is_refused(inventory: Path) -> None:
    with pytest.raises(LabError, match="no group 'edge'"):
        add_host(inventory, "e01", "edge")
