"""Fixtures of the Ansible tests: a wheelhouse, a lab of bare hosts, an inventory rendered for it.

The lab tests build a whole installation, so one lab serves the whole module
(test_appliance.py) and its tests run in order, each building on the last.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pixelfox_lab import Lab
from tests.ansible.helpers import LAB_PREFIX, LAB_SUBNET, Ansible, lab_inventory
from tests.lab.helpers import require_lab, running_lab


@pytest.fixture(autouse=True)
def _skip_lab_tests_without_support(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("lab") is not None:
        require_lab()


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    """Bare hosts app, s01, s02 (s03 joins later), torn down after the module, also on failure."""
    with running_lab(("app", "s01", "s02"), LAB_PREFIX, LAB_SUBNET) as running:
        yield running


@pytest.fixture(scope="module")
def inventory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """inventory/lab with fresh secrets, made by `pixelfox secrets init` as an operator would."""
    return lab_inventory(tmp_path_factory.mktemp("inventory"))


@pytest.fixture(scope="module")
def ansible(
    lab: Lab, inventory: Path, wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory
) -> Ansible:
    return Ansible(lab, inventory, wheelhouse, tmp_path_factory.mktemp("ansible"))
