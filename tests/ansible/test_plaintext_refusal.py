"""site.yml and add-storage-node.yml refuse plain-text internal traffic on public addresses.

The real playbooks against an inventory whose hosts are this machine
(connection local): the preflight play (playbooks/preflight.yml, imported by
both) reads only the inventory and the hosts' network facts, so where each host
"is" comes from its ``ansible_host``. A refusal is shown through site.yml or
add-storage-node.yml with ``--tags preflight`` (it stops the run there); a pass
through preflight.yml itself, since the later plays' argument checks would want
a whole inventory. No namespaces, nothing is installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from tests.ansible.helpers import BIN, REPO

pytestmark = pytest.mark.ansible

PUBLIC_APP, PUBLIC_NODE = "203.0.113.10", "203.0.113.21"
PRIVATE_APP, PRIVATE_NODE = "10.0.0.10", "10.0.0.21"


def _inventory(folder: Path, *, app: str, node: str, scheme: str = "http", **extra: Any) -> Path:
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    inventory = {
        "all": {
            "vars": {
                "pixelfox_domain": "example.net",
                "pixelfox_scheme": scheme,
                "pixelfox_control_host": "app",
                "pixelfox_control_name": "app.example.net",
                "pixelfox_public_domain": f"{scheme}://app.example.net",
                "pixelfox_redis_host": app,
                "redis_bind_addresses": ["127.0.0.1", app],
                **extra,
            },
            "children": {
                "control": {
                    "hosts": {"app": {**local, "ansible_host": app}},
                    "vars": {"pixelfox_dns_name": "app.example.net"},
                },
                "storage": {
                    "hosts": {"s01": {**local, "ansible_host": node}},
                    "vars": {
                        "pixelfox_node_id": "{{ inventory_hostname }}",
                        "pixelfox_node_server_name": "{{ inventory_hostname }}.example.net",
                        "pixelfox_dns_name": "{{ pixelfox_node_server_name }}",
                    },
                },
            },
        }
    }
    path = folder / "hosts.yml"
    path.write_text(yaml.safe_dump(inventory))
    return path


def _preflight(
    inventory: Path, playbook: str = "preflight.yml", *extra: str
) -> subprocess.CompletedProcess[str]:
    argv = [str(BIN / "ansible-playbook"), "-i", str(inventory), f"playbooks/{playbook}"]
    return subprocess.run(
        [*argv, "--tags", "preflight", *extra],
        cwd=REPO,
        env={**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )


def _output(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout[-6000:] + result.stderr[-3000:]


def test_plain_text_redis_on_a_public_address_is_refused(tmp_path: Path) -> None:
    # Internal HTTP is allowed here, so the Redis check alone decides.
    inventory = _inventory(
        tmp_path, app=PUBLIC_APP, node=PUBLIC_NODE, internal_http_allow_plaintext=True
    )

    result = _preflight(inventory, "site.yml")

    assert result.returncode != 0, _output(result)
    assert f"Redis would listen in plain text on {PUBLIC_APP}" in result.stdout, _output(result)
    assert "redis_tls_cert_file" in result.stdout
    assert "redis_allow_plaintext: true" in result.stdout


def test_internal_http_to_public_addresses_is_refused(tmp_path: Path) -> None:
    inventory = _inventory(tmp_path, app=PUBLIC_APP, node=PUBLIC_NODE, redis_allow_plaintext=True)

    result = _preflight(inventory, "site.yml")

    assert result.returncode != 0, _output(result)
    assert (
        f"internal API in plain text at http://app.example.net ({PUBLIC_APP})" in result.stdout
    ), _output(result)
    assert f"http://s01.example.net/api/internal/upload ({PUBLIC_NODE})" in result.stdout
    assert "internal_http_allow_plaintext: true" in result.stdout


def test_the_operators_flags_let_plain_text_through(tmp_path: Path) -> None:
    inventory = _inventory(tmp_path, app=PUBLIC_APP, node=PUBLIC_NODE)

    result = _preflight(
        inventory,
        "preflight.yml",
        "-e",
        "redis_allow_plaintext=true internal_http_allow_plaintext=true",
    )

    assert result.returncode == 0, _output(result)


def test_private_addresses_pass_in_plain_text(tmp_path: Path) -> None:
    inventory = _inventory(tmp_path, app=PRIVATE_APP, node=PRIVATE_NODE)

    result = _preflight(inventory)

    assert result.returncode == 0, _output(result)


def test_tls_passes_on_public_addresses(tmp_path: Path) -> None:
    inventory = _inventory(
        tmp_path,
        app=PUBLIC_APP,
        node=PUBLIC_NODE,
        scheme="https",
        redis_tls_cert_file="files/app.crt",
        redis_tls_key_file="files/app.key",
    )

    result = _preflight(inventory)

    assert result.returncode == 0, _output(result)


@pytest.mark.parametrize("bind", ["0.0.0.0", "*"])
def test_a_wildcard_bind_counts_as_public(tmp_path: Path, bind: str) -> None:
    inventory = _inventory(
        tmp_path, app=PRIVATE_APP, node=PRIVATE_NODE, redis_bind_addresses=["127.0.0.1", bind]
    )

    result = _preflight(inventory, "site.yml")

    assert result.returncode != 0, _output(result)
    assert f"Redis would listen in plain text on {bind}" in result.stdout, _output(result)


def test_adding_a_node_checks_the_same(tmp_path: Path) -> None:
    inventory = _inventory(tmp_path, app=PRIVATE_APP, node=PUBLIC_NODE)

    refused = _preflight(inventory, "add-storage-node.yml", "-e", "node=s01")
    allowed = _preflight(inventory, "preflight.yml", "-e", "internal_http_allow_plaintext=true")

    assert refused.returncode != 0, _output(refused)
    assert "Node s01 would speak plain text on a public address" in refused.stdout
    assert allowed.returncode == 0, _output(allowed)


def test_both_playbooks_run_the_preflight_before_building_anything() -> None:
    for name in ("site.yml", "add-storage-node.yml"):
        plays = yaml.safe_load((REPO / "playbooks" / name).read_text())
        first_build = next(i for i, play in enumerate(plays) if "roles" in play)
        imports = [i for i, play in enumerate(plays) if "ansible.builtin.import_playbook" in play]
        assert [plays[i]["ansible.builtin.import_playbook"] for i in imports] == ["preflight.yml"]
        assert imports[0] < first_build, name
