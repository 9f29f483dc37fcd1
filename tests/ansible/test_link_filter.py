"""The Ansible filter that gives each node's nginx its own link secret (no Ansible run needed)."""

from __future__ import annotations

import importlib.util
from types import ModuleType

from pixelfox_lab import roles
from pixelfox_protocol import links
from tests.support import ROOT


def _plugin() -> ModuleType:
    path = ROOT / "filter_plugins" / "pixelfox_links.py"
    spec = importlib.util.spec_from_file_location("pixelfox_links", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_filter_is_the_protocols_derivation_and_ansible_cfg_loads_it() -> None:
    derive = _plugin().FilterModule().filters()["pixelfox_node_link_secret"]

    assert derive("example-link-secret", "s01") == links.node_secret("example-link-secret", "s01")
    assert derive("example-link-secret", "s01") != derive("example-link-secret", "s02")
    assert derive("", "s01") == ""
    assert derive("example-link-secret", "") == ""  # no node id: the role refuses the site
    assert "filter_plugins = filter_plugins" in (ROOT / "ansible.cfg").read_text()


def test_the_nginx_role_gives_a_node_only_its_own_secrets() -> None:
    nginx = roles.variables(
        "nginx",
        {
            "pixelfox_node_id": "s02",
            "pixelfox_link_secret": "master",
            "pixelfox_link_previous_secret": "old-master",
        },
    )

    assert nginx["nginx_storage_node_id"] == "s02"
    assert nginx["nginx_storage_link_secret"] == links.node_secret("master", "s02")
    assert nginx["nginx_storage_link_previous_secret"] == links.node_secret("old-master", "s02")
