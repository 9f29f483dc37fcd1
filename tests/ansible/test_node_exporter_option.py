"""The common role's node exporter option: the package joins the base ones, and its address.

Rendered by Ansible on localhost from the role's own defaults, vars and template;
installing and starting the service is left to a real host (the package is
Debian's, with a systemd unit and an init script).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pixelfox_lab import roles
from tests.ansible.helpers import local_playbook

pytestmark = pytest.mark.ansible

COMMON = roles.ROLES / "common"


def _render(tmp_path: Path, extra: dict[str, object]) -> tuple[list[str], str]:
    out = tmp_path / "out"
    out.mkdir(parents=True)
    play = {
        "name": "node exporter option",
        "hosts": "localhost",
        "connection": "local",
        "gather_facts": False,
        "vars_files": [str(COMMON / "defaults/main.yml"), str(COMMON / "vars/main.yml")],
        "vars": {"pixelfox_wheelhouse_dir": "/nowhere", **extra},
        "tasks": [
            {
                "name": "Packages",
                "ansible.builtin.copy": {
                    "content": "{{ common_install_packages | to_json }}",
                    "dest": str(out / "packages.json"),
                    "mode": "0644",
                },
            },
            {
                "name": "Defaults file",
                "ansible.builtin.template": {
                    "src": str(COMMON / "templates/etc/default/prometheus-node-exporter.j2"),
                    "dest": str(out / "prometheus-node-exporter"),
                    "mode": "0644",
                },
            },
        ],
    }
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump([play]))
    result = local_playbook(playbook)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    packages = yaml.safe_load((out / "packages.json").read_text())
    return packages, (out / "prometheus-node-exporter").read_text()


def test_the_node_exporter_is_installed_only_when_asked_for(tmp_path: Path) -> None:
    off, _ = _render(tmp_path / "off", {})
    on, defaults = _render(
        tmp_path / "on",
        {"pixelfox_node_exporter": True, "pixelfox_node_exporter_listen_address": "10.0.0.5:9100"},
    )

    assert "prometheus-node-exporter" not in off
    assert on == [*off, "prometheus-node-exporter"]
    assert 'ARGS="--web.listen-address=10.0.0.5:9100"' in defaults.splitlines()


def test_the_node_exporter_listens_on_loopback_unless_told(tmp_path: Path) -> None:
    _, defaults = _render(tmp_path, {"pixelfox_node_exporter": True})
    assert 'ARGS="--web.listen-address=127.0.0.1:9100"' in defaults.splitlines()
