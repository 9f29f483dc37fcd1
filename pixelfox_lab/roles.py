"""A role's template rendered as Ansible renders it, for the tests, the lab and the docs.

What is tested is what is deployed: the nginx site the tests and the lab run
is the role's own template, filled in with the role's defaults under the
caller's values, as the template module would fill it in on a host. Jinja2 is
set up as that module sets it up (blocks trimmed, the last newline kept); a
default that is itself an expression is resolved when something reads it, as
Ansible resolves variables (so one default may name another, or an
installation fact the caller gives); and the filters the templates use,
Ansible's ``hash`` and ``bool`` and the project's ``pixelfox_node_link_secret``
(filter_plugins/), are provided here. A template that needs another one fails
loudly with its name, as does one that reads a variable nobody gave.
``tests/ansible/test_role_templates.py`` renders the same templates with
Ansible itself and compares them byte for byte.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]
from jinja2 import Environment, FileSystemLoader, StrictUndefined, UndefinedError
from jinja2.nativetypes import NativeEnvironment, native_concat

from pixelfox_protocol import links

ROLES = Path(__file__).resolve().parents[1] / "roles"
# Ansible's own default for {{ ansible_managed }}; inventories set their own line.
ANSIBLE_MANAGED = "Ansible managed"


def _hash(data: object, hashtype: str = "sha1") -> str:
    """Ansible's ``hash`` filter: the hex digest of the text."""
    digest = hashlib.new(hashtype)
    digest.update(str(data).encode())
    return digest.hexdigest()


def _node_link_secret(master: object, node_id: object) -> str:
    """The project's filter (filter_plugins/pixelfox_links.py): a node's own link secret."""
    secret, node = str(master or "").strip(), str(node_id or "").strip()
    return links.node_secret(secret, node) if secret and node else ""


def _bool(value: object) -> bool:
    """Ansible's ``bool`` filter: "yes", "on", "1", "true" (any case) and 1 are true."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("yes", "on", "1", "true")


def _configured(environment: Environment) -> Environment:
    environment.filters["hash"] = _hash
    environment.filters["pixelfox_node_link_secret"] = _node_link_secret
    environment.filters["bool"] = _bool
    return environment


def defaults(role: str) -> dict[str, Any]:
    """``roles/<role>/defaults/main.yml`` as written (expressions not resolved)."""
    loaded = yaml.safe_load((ROLES / role / "defaults" / "main.yml").read_text())
    return dict(loaded or {})


class _Lazy(dict[str, Any]):
    """Variables whose expressions are rendered when read, against these same variables."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        super().__init__(values)
        # Native, as Ansible's: "{{ 1 + 2 }}" is the number 3, "{{ flag }}" stays a bool.
        self._native = _configured(NativeEnvironment(undefined=StrictUndefined, autoescape=False))

    def __getitem__(self, name: str) -> Any:
        return self._resolve(super().__getitem__(name))

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, str) and ("{{" in value or "{%" in value):
            template = self._native.from_string(value)
            # shared=True: names are looked up in this mapping, so through __getitem__.
            return native_concat(template.root_render_func(template.new_context(self, shared=True)))
        if isinstance(value, list):
            return [self._resolve(v) for v in value]
        if isinstance(value, dict):
            return {k: self._resolve(v) for k, v in value.items()}
        return value


def variables(role: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The role's defaults under ``values``, every one resolved that can be.

    A default that needs what nobody gave (a host fact such as
    ``ansible_service_mgr``) is left out: a template reading it fails.
    """
    lazy = _Lazy({**defaults(role), **values})
    resolved: dict[str, Any] = {}
    for name in list(lazy):
        try:
            resolved[name] = lazy[name]
        except UndefinedError:
            continue
    return resolved


def render(
    role: str, template: str, values: Mapping[str, Any], *, ansible_managed: str = ANSIBLE_MANAGED
) -> str:
    """``roles/<role>/templates/<template>`` filled in as Ansible's template module would."""
    environment = _configured(
        Environment(
            loader=FileSystemLoader(ROLES / role / "templates"),
            # The template module's settings.
            trim_blocks=True,
            keep_trailing_newline=True,
            undefined=StrictUndefined,
            autoescape=False,  # noqa: S701 (configuration files, not HTML)
        )
    )
    context = variables(role, {"ansible_managed": ansible_managed, **values})
    return environment.get_template(template).render(context)
