"""``pixelfox secrets init``: the secrets file of an Ansible-built installation.

One YAML file of Ansible variables holds every secret the roles need. It is
made on the controller, kept next to the inventory (``group_vars/all/``) and
meant to be encrypted with ``ansible-vault``. Running the command again adds
what is missing and never touches an entry that exists, so it is safe to run
after every upgrade: keys, sessions and node credentials stay valid.

Node credentials are derived by the roles from one master secret, so adding a
node needs no new entry. ``--nodes`` records explicit per-node credentials
instead; an explicit entry wins over the derived one, which lets an operator
replace one node's credential (delete its line, run again) without touching
the others.
"""

from __future__ import annotations

import os
import re
import secrets as stdlib_secrets
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from pixelfox_protocol.tokens import new_signing_key, public_key_of

VAULT_HEADER = "$ANSIBLE_VAULT;"
NODES_KEY = "pixelfox_node_credentials"
SIGNING_KEY = "pixelfox_token_signing_key"
PUBLIC_KEY = "pixelfox_token_public_key"
_NODE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")


def _urlsafe() -> str:
    return stdlib_secrets.token_urlsafe(32)


def _hex() -> str:
    # Hex only: these travel inside URLs (redis://, postgres://) without escaping.
    return stdlib_secrets.token_hex(24)


# Name -> (generator, comment). Order is the order in a new file.
GENERATED: dict[str, tuple[Callable[[], str], str]] = {
    "pixelfox_secret_key": (_urlsafe, "signs the app's session cookies"),
    SIGNING_KEY: (
        lambda: new_signing_key()[0],
        "Ed25519 key that signs upload tokens (app host only)",
    ),
    "pixelfox_link_secret": (_urlsafe, "master link secret; each node's nginx gets its own"),
    "pixelfox_redis_password": (_hex, "password of the app's Redis user <prefix>-app"),
    "pixelfox_redis_worker_password": (
        _hex,
        "password of the control worker's Redis user <prefix>-worker (sets the nodes' users)",
    ),
    "pixelfox_postgresql_password": (_hex, "password of the database role pixelfox"),
    "pixelfox_admin_password": (_urlsafe, "first administrator's password"),
    "pixelfox_node_credential_master": (
        _urlsafe,
        "node credentials are sha256('<node_id>:' + this); see pixelfox_node_credentials",
    ),
}

HEADER = """\
# PixelFox secrets: Ansible variables read by the roles. Keep this file private and
# encrypt it:  ansible-vault encrypt <this file>
# Made by 'pixelfox secrets init'; running it again adds missing entries and never
# changes existing ones. To replace a secret, delete its line and run it again
# (the token public key goes with its signing key).
"""


def _quote(value: str) -> str:
    # Generated values are base64url/hex; double quotes keep YAML from reading
    # anything else into them (a leading '-', a bare number).
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _load(text: str, path: Path) -> dict[str, Any]:
    if text.lstrip().startswith(VAULT_HEADER):
        raise click.ClickException(
            f"{path} is encrypted with ansible-vault: decrypt it first "
            f"(ansible-vault decrypt {path}), run this again, then encrypt it again"
        )
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - PyYAML comes with Ansible
        raise click.ClickException(
            "reading the secrets file needs PyYAML (it comes with Ansible)"
        ) from None
    try:
        data = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        raise click.ClickException(f"{path} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise click.ClickException(f"{path} must be a YAML mapping of variables")
    return data


def _check_token_keys(values: dict[str, Any], path: Path) -> str | None:
    """The public key to add, if any; refuses a file whose two key entries disagree."""
    signing, public = values.get(SIGNING_KEY), values.get(PUBLIC_KEY)
    if not signing:
        if public:
            raise click.ClickException(
                f"{path} has {PUBLIC_KEY} but no {SIGNING_KEY}: delete {PUBLIC_KEY} too, "
                "so both are made anew as a pair"
            )
        return None
    try:
        derived = public_key_of(str(signing))
    except ValueError as exc:
        raise click.ClickException(f"{SIGNING_KEY} in {path} is not valid: {exc}") from None
    if public and public != derived:
        raise click.ClickException(
            f"{PUBLIC_KEY} in {path} does not belong to {SIGNING_KEY}: delete it and run again"
        )
    return None if public else derived


def _node_lines(existing: dict[str, Any], nodes: list[str]) -> list[str]:
    return [f"  {node}: {_quote(_urlsafe())}" for node in nodes if node not in existing]


def plan(text: str, path: Path, nodes: list[str]) -> tuple[str, list[str]]:
    """The new file text and the names added; the old text is kept byte for byte."""
    values = _load(text, path)
    node_map = values.get(NODES_KEY) or {}
    if not isinstance(node_map, dict):
        raise click.ClickException(f"{NODES_KEY} in {path} must be a mapping of node id to secret")
    added: list[str] = []
    lines: list[str] = []
    for name, (generate, comment) in GENERATED.items():
        if values.get(name):
            continue
        value = generate()
        if name == SIGNING_KEY:
            values[SIGNING_KEY] = value
        lines += [f"# {comment}", f"{name}: {_quote(value)}"]
        added.append(name)
    public = _check_token_keys(values, path)
    if public is not None:
        comment = "verifies upload tokens; the only token key storage nodes get"
        lines += [f"# {comment}", f"{PUBLIC_KEY}: {_quote(public)}"]
        added.append(PUBLIC_KEY)
    new_nodes = _node_lines(node_map, nodes)
    added += [f"{NODES_KEY}.{node}" for node in nodes if node not in node_map]

    body = text if not text or text.endswith("\n") else text + "\n"
    if not body:
        body = HEADER
    if NODES_KEY not in values:
        lines += [
            "# explicit per-node credentials; they win over the derived ones",
            f"{NODES_KEY}:" if new_nodes else f"{NODES_KEY}: {{}}",
            *new_nodes,
        ]
    elif new_nodes:
        body = _insert_nodes(body, new_nodes, path)
    return body + "".join(f"{line}\n" for line in lines), added


def _insert_nodes(body: str, new_nodes: list[str], path: Path) -> str:
    """Add entries at the end of the existing top-level node map."""
    rows = body.splitlines()
    start = next((i for i, row in enumerate(rows) if row.startswith(f"{NODES_KEY}:")), None)
    if start is None:
        raise click.ClickException(f"cannot find the line '{NODES_KEY}:' in {path}")
    head = rows[start][len(NODES_KEY) + 1 :].strip()
    if head not in ("", "{}"):
        raise click.ClickException(
            f"{NODES_KEY} in {path} is written inline; write it as an indented block to add nodes"
        )
    rows[start] = f"{NODES_KEY}:"
    end = start + 1
    while end < len(rows) and (rows[end].startswith((" ", "\t")) or not rows[end].strip()):
        end += 1
    while end > start + 1 and not rows[end - 1].strip():
        end -= 1  # keep blank lines after the block where they were
    rows[end:end] = new_nodes
    return "\n".join(rows) + "\n"


def write_private(path: Path, text: str) -> None:
    """Replace the file atomically; it is created 0600 and never exists wider."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


def _node_ids(value: str) -> list[str]:
    nodes = [n.strip() for n in value.replace(",", " ").split() if n.strip()]
    bad = [n for n in nodes if not _NODE_ID.match(n)]
    if bad:
        raise click.BadParameter(f"not a node id: {', '.join(bad)} (e.g. s01)")
    return list(dict.fromkeys(nodes))


@click.group("secrets")
def secrets() -> None:
    """The secrets file of an Ansible-built installation."""


@secrets.command("init")
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The YAML file, e.g. inventory/production/group_vars/all/secrets.yml.",
)
@click.option(
    "--nodes",
    default="",
    help="Node ids (comma or space separated) to give explicit credentials, e.g. s01,s02.",
)
def secrets_init(path: Path, nodes: str) -> None:
    """Create the secrets file, or add what is missing; existing entries never change."""
    text = path.read_text() if path.exists() else ""
    new_text, added = plan(text, path, _node_ids(nodes))
    if not added:
        click.echo(f"secrets: {path} is complete, nothing added")
        return
    write_private(path, new_text)
    verb = "created" if not text else "added to"
    click.echo(f"secrets: {verb} {path}: {', '.join(added)}")
    click.echo(f"secrets: encrypt it with: {_ansible_vault()} encrypt {path}")


def _ansible_vault() -> str:
    """ansible-vault as the operator can run it: next to this Python (the virtualenv)."""
    beside = Path(sys.executable).parent / "ansible-vault"
    if not beside.is_file():
        return "ansible-vault"
    try:
        return str(beside.relative_to(Path.cwd()))
    except ValueError:
        return str(beside)


def _decrypted(path: Path) -> str:
    """The file's text; an ansible-vault file is decrypted by ansible-vault (it asks)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise click.ClickException(f"cannot read {path}: {exc.strerror}") from None
    if not text.lstrip().startswith(VAULT_HEADER):
        return text
    vault = Path(sys.executable).parent / "ansible-vault"
    try:
        done = subprocess.run(
            [str(vault) if vault.is_file() else "ansible-vault", "view", str(path)],
            stdout=subprocess.PIPE,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        raise click.ClickException("ansible-vault is not installed (scripts/install)") from None
    if done.returncode != 0:
        raise click.ClickException(f"ansible-vault could not decrypt {path}")
    return done.stdout


@secrets.command("show")
@click.argument("name", default="pixelfox_admin_password")
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The secrets file, e.g. inventory/production/group_vars/all/secrets.yml.",
)
def secrets_show(name: str, path: Path) -> None:
    """Print one secret plainly (default: the first admin's password).

    An encrypted file is decrypted with ansible-vault, which asks for the vault password.
    """
    values = _load(_decrypted(path), path)
    if name not in values:
        raise click.ClickException(
            f"{path} has no {name}; it has: {', '.join(sorted(values)) or 'nothing'}"
        )
    value = values[name]
    if not isinstance(value, str | int):
        raise click.ClickException(f"{name} is not a single value")
    click.echo(str(value))


COMMANDS: list[click.Command] = [secrets]
