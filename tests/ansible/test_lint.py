"""The roles and playbooks pass ansible-lint's production profile and Ansible's syntax check."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.ansible.helpers import BIN, REPO

pytestmark = pytest.mark.ansible

PLAYBOOKS = sorted(p.name for p in (REPO / "playbooks").glob("*.yml"))


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_ROLES_PATH": str(REPO / "roles"),
        "ANSIBLE_NOCOLOR": "1",
        "NO_COLOR": "1",
    }


@pytest.mark.timeout(900)  # ansible-lint takes minutes on a busy machine
def test_ansible_lint_passes_with_the_production_profile() -> None:
    result = subprocess.run(
        [str(BIN / "ansible-lint"), "--offline", "playbooks", "roles", "inventory"],
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "Profile 'production' was required, and it passed" in result.stdout + result.stderr


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_playbook_passes_the_syntax_check(playbook: str) -> None:
    result = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "inventory/production.example", "--syntax-check",
         f"playbooks/{playbook}"],
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("extra", [[], ["-e", "node=app"], ["-e", "node=nowhere"]])
def test_the_drain_playbook_refuses_a_missing_or_unknown_node_before_touching_a_host(
    extra: list[str],
) -> None:
    result = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "inventory/production.example",
         "playbooks/drain-storage-node.yml", *extra],
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    assert "Name the node to drain: -e node=s02" in result.stdout
    assert "Drain the storage node" not in result.stdout


def test_the_example_inventory_names_every_role_knob_it_sets_in_a_role_default() -> None:
    """A knob set in the example inventory that no role defines is a typo an operator copies."""
    defined: set[str] = set()
    for defaults in (REPO / "roles").glob("*/defaults/main.yml"):
        defined |= set(yaml.safe_load(defaults.read_text()) or {})
    prefixes = tuple(
        f"{role.name}_" for role in (REPO / "roles").iterdir() if (role / "defaults").is_dir()
    )
    inventory = REPO / "inventory" / "production.example"
    for path in [*inventory.glob("group_vars/**/*.yml"), *inventory.glob("host_vars/*.yml")]:
        for name in yaml.safe_load(path.read_text()) or {}:
            if name.startswith(prefixes):
                assert name in defined, f"{path.relative_to(REPO)}: {name} is no role's knob"


def test_the_secrets_playbook_makes_the_file_then_changes_nothing(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory"
    shutil.copytree(REPO / "inventory" / "lab", inventory)
    (inventory / "group_vars" / "all" / "secrets.yml").unlink(missing_ok=True)
    argv = [str(BIN / "ansible-playbook"), "-i", str(inventory), "playbooks/secrets.yml"]

    def run() -> str:
        result = subprocess.run(
            argv, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    first, second = run(), run()

    secrets = yaml.safe_load((inventory / "group_vars" / "all" / "secrets.yml").read_text())
    assert secrets["pixelfox_token_signing_key"] and secrets["pixelfox_redis_password"]
    assert re.search(r"localhost\s+: ok=1\s+changed=1", first)
    assert re.search(r"localhost\s+: ok=1\s+changed=0", second)
