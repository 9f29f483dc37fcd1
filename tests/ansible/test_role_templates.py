"""What the tests and the lab render is what Ansible deploys, byte for byte.

The tests and the lab render the roles' templates with ``pixelfox_lab.roles``
(Jinja2 set up as Ansible's template module, the role's defaults under their
values). Here Ansible itself renders the same templates with the same values,
on localhost, and every file must come out the same.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from pixelfox_lab import roles, sites
from tests.ansible.helpers import local_playbook
from tests.serving.nginx import NginxSite

pytestmark = pytest.mark.ansible

INIT_SCRIPT = "etc/init.d/pixelfox-service.j2"
# As roles/pixelfox_app and roles/pixelfox_storage include common/tasks/init_scripts.yml.
INIT_SCRIPTS: dict[str, dict[str, Any]] = {
    "app": {
        "common_init_services": [
            {"name": "pixelfox-app", "description": "PixelFox control app",
             "command": "serve-app --bind 127.0.0.1:8080"},
            {"name": "pixelfox-control-worker", "description": "PixelFox control worker",
             "command": "control-worker"},
        ],
        "common_init_user": "pixelfox",
        "common_init_group": "pixelfox",
        "common_init_chdir": "/var/lib/pixelfox/app",
        "common_init_env_file": "/etc/pixelfox/app.env",
        "common_init_log_dir": "/var/log/pixelfox",
        "common_init_root": "/opt/pixelfox",
    },
    "storage": {
        "common_init_services": [
            {"name": "pixelfox-worker@s01", "description": "PixelFox node worker s01",
             "command": "worker --node s01"},
        ],
        "common_init_user": "pixelfox",
        "common_init_group": "pixelfox",
        "common_init_chdir": "/var/lib/pixelfox/node",
        "common_init_env_file": "/etc/pixelfox/storage.env",
        "common_init_log_dir": "/var/log/pixelfox",
        "common_init_root": "/opt/pixelfox",
    },
}  # fmt: skip
MANAGED = "Managed by Ansible (PixelFox); local changes are overwritten"


def _storage_sites(tmp_path: Path) -> dict[str, tuple[dict[str, Any], str]]:
    """Variant name -> (values, ansible_managed) of the storage site."""
    test_site = NginxSite(tmp_path, tmp_path / "pool", "link-secret", spool_secret="spool")
    return {
        "docs": (sites.DOCS_VALUES, sites.DOCS_MANAGED),
        "tests": (test_site.values(), MANAGED),
        "plain-ipv6": ({**sites.DOCS_VALUES, "nginx_tls_certificate": ""}, MANAGED),
    }


def _play(name: str, role: str, src: str, dest: str, values: dict[str, Any]) -> dict[str, Any]:
    task: dict[str, Any] = {
        "name": name,
        "ansible.builtin.template": {"src": str(roles.ROLES / role / "templates" / src),
                                     "dest": dest, "mode": "0644"},
    }  # fmt: skip
    if "common_init_services" in values:
        task["loop"] = "{{ common_init_services }}"
        task["ansible.builtin.template"]["dest"] = dest + "/{{ item.name }}"
    return {
        "name": name,
        "hosts": "localhost",
        "connection": "local",
        "gather_facts": False,
        # The role's defaults as play variables, under the values (vars_files would win).
        "vars": {**roles.defaults(role), **values},
        "tasks": [task],
    }


def test_ansible_renders_the_storage_site_and_the_init_scripts_as_the_tests_do(
    tmp_path: Path,
) -> None:
    plays, expected = [], {}
    for name, (values, managed) in _storage_sites(tmp_path).items():
        dest = tmp_path / f"{name}.conf"
        plays.append(
            _play(name, "nginx", sites.STORAGE_SITE, str(dest),
                  {**values, "ansible_managed": managed})
        )  # fmt: skip
        expected[dest] = sites.storage_site(values, ansible_managed=managed)
    for name, values in INIT_SCRIPTS.items():
        folder = tmp_path / f"init-{name}"
        folder.mkdir()
        plays.append(
            _play(name, "common", INIT_SCRIPT, str(folder), {**values, "ansible_managed": MANAGED})
        )
        for service in values["common_init_services"]:
            text = roles.render(
                "common", INIT_SCRIPT, {**values, "item": service}, ansible_managed=MANAGED
            )
            expected[folder / service["name"]] = text
    playbook = tmp_path / "render.yml"
    playbook.write_text(yaml.safe_dump(plays, sort_keys=False))

    result = local_playbook(playbook)

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    for path, text in expected.items():
        assert path.read_text() == text, path.name


def test_the_one_init_script_is_a_shell_script_for_both_roles(tmp_path: Path) -> None:
    for values in INIT_SCRIPTS.values():
        for service in values["common_init_services"]:
            script = tmp_path / service["name"]
            script.write_text(roles.render("common", INIT_SCRIPT, {**values, "item": service}))

            check = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True)

            assert check.returncode == 0, check.stderr
            text = script.read_text()
            assert f"--chdir {values['common_init_chdir']} " in text
            assert f'"$NAME" {values["common_init_env_file"]} ' in text
            assert text.rstrip().endswith("esac")


def test_ansible_renders_the_tls_redis_config_with_its_include_as_the_tests_do(
    tmp_path: Path,
) -> None:
    # The include ('etc/redis/redis-tls.conf.j2') is found through the role's
    # templates folder, so Ansible renders it here as a role does: a role whose
    # templates are the redis role's.
    role = tmp_path / "roles" / "redis_copy"
    (role / "tasks").mkdir(parents=True)
    (role / "templates").symlink_to(roles.ROLES / "redis" / "templates")
    dest = tmp_path / "redis.conf"
    (role / "tasks" / "main.yml").write_text(yaml.safe_dump([
        {"name": "Render", "ansible.builtin.template": {
            "src": "etc/redis/redis.conf.j2", "dest": str(dest), "mode": "0644"}},
    ]))  # fmt: skip
    values = {"redis_bind_addresses": ["127.0.0.1", "10.0.0.10"], "redis_tls": True,
              "redis_tls_ca_file": "ca.crt", "pixelfox_redis_password": "pw",
              "ansible_managed": MANAGED}  # fmt: skip
    playbook = tmp_path / "render.yml"
    playbook.write_text(yaml.safe_dump([{
        "hosts": "localhost", "connection": "local", "gather_facts": False,
        "vars": {**roles.defaults("redis"), **values}, "roles": ["redis_copy"]}]))  # fmt: skip

    result = local_playbook(playbook, roles_path=tmp_path / "roles")

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert dest.read_text() == roles.render("redis", "etc/redis/redis.conf.j2", values)
    assert "tls-port 6379" in dest.read_text().splitlines()
