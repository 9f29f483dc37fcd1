"""The common role's node exporter option: the package joins the base ones, and its address.

Rendered by Ansible on localhost from the role's own defaults, vars and template;
installing and starting the service is left to a real host (the package is
Debian's, with a systemd unit and an init script).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ansible.render import render

pytestmark = pytest.mark.ansible

DEFAULTS_FILE = {"etc/default/prometheus-node-exporter.j2": "prometheus-node-exporter"}


def _render(out: Path, extra: dict[str, object]) -> tuple[list[str], str]:
    values = {"pixelfox_wheelhouse_dir": "/nowhere", **extra}
    found = render("common", out, values, DEFAULTS_FILE, {"packages": "common_install_packages"})
    return found["packages"], (out / "prometheus-node-exporter").read_text()


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
