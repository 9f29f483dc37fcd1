"""Fixtures of the Ansible tests: a wheelhouse, a lab of bare hosts, an inventory rendered for it.

The lab tests build a whole installation, so one lab serves the whole module
(test_appliance.py) and its tests run in order, each building on the last.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pixelfox_lab import Lab
from tests.ansible.helpers import BIN, LAB_PREFIX, LAB_SUBNET, REPO, Ansible, build_wheelhouse
from tests.lab.helpers import require_lab, running_lab


@pytest.fixture(autouse=True)
def _skip_lab_tests_without_support(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("lab") is not None:
        require_lab()


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheelhouse(
        tmp_path_factory.mktemp("wheelhouse"), REPO / "build" / "ansible-wheel-cache"
    )


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    """Bare hosts app, s01, s02 (s03 joins later), torn down after the module, also on failure."""
    with running_lab(("app", "s01", "s02"), LAB_PREFIX, LAB_SUBNET) as running:
        yield running


@pytest.fixture(scope="module")
def inventory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """inventory/lab with fresh secrets, made by `pixelfox secrets init` as an operator would."""
    target = tmp_path_factory.mktemp("inventory") / "lab"
    shutil.copytree(REPO / "inventory" / "lab", target)
    secrets = target / "group_vars" / "all" / "secrets.yml"
    secrets.unlink(missing_ok=True)
    subprocess.run(
        [str(BIN / "python"), "-m", "pixelfox_cli", "secrets", "init", "--file", str(secrets)],
        check=True,
        capture_output=True,
    )
    return target


@pytest.fixture(scope="module")
def ansible(
    lab: Lab, inventory: Path, wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory
) -> Ansible:
    return Ansible(lab, inventory, wheelhouse, tmp_path_factory.mktemp("ansible"))
