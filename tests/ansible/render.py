"""Ansible itself renders a role's templates (and expressions) on localhost, with the role's
defaults and vars under the test's values, into a directory the test reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from pixelfox_lab import roles
from tests.ansible.helpers import local_playbook


def render(
    role: str,
    out: Path,
    values: dict[str, Any],
    templates: dict[str, str] | None = None,
    expressions: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Render ``templates`` (role template → file name in ``out``); returns ``expressions``
    (name → Jinja expression, e.g. ``"common_install_packages"``) as Ansible evaluated them.
    """
    base = roles.ROLES / role
    out.mkdir(parents=True, exist_ok=True)
    tasks: list[dict[str, Any]] = [
        {
            "name": f"Render {src}",
            "ansible.builtin.template": {
                "src": str(base / "templates" / src),
                "dest": str(out / name),
                "mode": "0644",
            },
        }
        for src, name in (templates or {}).items()
    ]
    tasks += [
        {
            "name": f"Evaluate {name}",
            "ansible.builtin.copy": {
                "content": "{{ " + expr + " | to_json }}",
                "dest": str(out / f"{name}.json"),
                "mode": "0644",
            },
        }
        for name, expr in (expressions or {}).items()
    ]
    # The defaults as play variables under the values (vars_files would win over them),
    # the role's vars as vars_files (they win in a real run, too).
    vars_files = [str(p) for p in [base / "vars/main.yml"] if p.exists()]
    play = {
        "name": f"render {role}",
        "hosts": "localhost",
        "connection": "local",
        "gather_facts": False,
        "vars_files": vars_files,
        "vars": {**roles.defaults(role), **values},
        "tasks": tasks,
    }
    playbook = out / "play.yml"
    playbook.write_text(yaml.safe_dump([play]))
    result = local_playbook(playbook)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return {name: yaml.safe_load((out / f"{name}.json").read_text()) for name in expressions or {}}
