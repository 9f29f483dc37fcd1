"""Operator commands: migrate, create-admin, nodes, pools.

Every command reads the control app's settings from ``PIXELFOX_*`` variables
(``PIXELFOX_DATABASE_URL`` above all) and reports a refusal as one line.
"""

from __future__ import annotations

import asyncio
import secrets
import shlex
from datetime import UTC

import click

from pixelfox_app import dbschema
from pixelfox_app.config import AppSettings
from pixelfox_app.models import StorageNode, StoragePool

from . import copies, lifecycle, poolmaps, provisioning
from .dbcommand import describe_database, echo_table, run_sync, with_db
from .pools import pools
from .redisusers import sync_after_change

# --- migrate -------------------------------------------------------------------


@click.command("migrate")
@click.option(
    "--check",
    is_flag=True,
    help="Touch no database: exit 1 when the models differ from the committed migrations.",
)
def migrate_command(check: bool) -> None:
    """Bring the database schema up to date (from empty, or a no-op when current)."""
    if check:
        _check_migrations()
        return
    settings = AppSettings.from_env()
    url = settings.effective_database_url
    click.echo(f"migrating {describe_database(settings)}")
    try:
        applied = run_sync(dbschema.migrate(url, progress=click.echo), url)
    except RuntimeError as exc:  # no migrations shipped: a broken installation
        raise click.ClickException(str(exc)) from None
    click.echo(f"done: {len(applied)} migration(s) applied" if applied else "done: up to date")


def _check_migrations() -> None:
    drift = asyncio.run(dbschema.drift_report())
    for name, sql in drift.items():
        if not sql:
            click.echo(f"{name}: models and migrations agree")
            continue
        click.echo(f"{name}: the models differ from the migrations; missing:", err=True)
        for line in sql.splitlines():
            click.echo(f"    {line}", err=True)
    if any(drift.values()):
        raise click.ClickException(
            "models and migrations disagree: run 'python scripts/make_migrations.py' "
            "and commit the new files"
        )


# --- create-admin --------------------------------------------------------------


@click.command("create-admin")
@click.argument("username")
@click.option(
    "--password",
    envvar="PIXELFOX_ADMIN_PASSWORD",
    help="The password (default: prompt; env PIXELFOX_ADMIN_PASSWORD keeps it out of ps).",
)
@click.option("--generate", is_flag=True, help="Generate a password and print it.")
@click.option("--email", default=None, help="Optional e-mail address.")
@click.option(
    "--update", is_flag=True, help="If the user exists: set this password and make it an admin."
)
def create_admin_command(
    username: str, password: str | None, generate: bool, email: str | None, update: bool
) -> None:
    """Create an administrator account."""
    from pixelfox_app.auth import accounts

    if password is not None and generate:
        raise click.UsageError("give either --password or --generate, not both")
    if generate:
        password = secrets.token_urlsafe(15)
    elif password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        accounts.check_username(username)
        accounts.check_password(password)
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from None

    async def work() -> str:
        if update and await accounts.User.exists(username=username):
            await accounts.set_password(username, password, make_admin=True)
            return "updated"
        try:
            await accounts.create_admin(username, password, email=email)
        except accounts.AccountError as exc:
            if "already exists" in str(exc):
                hint = "use --update to set its password and make it an admin"
                raise accounts.AccountError(f"{exc} ({hint})") from None
            raise
        return "created"

    outcome = with_db(AppSettings.from_env(), work)
    click.echo(f"admin {username!r} {outcome}")
    if generate:
        click.echo(f"password: {password}")


# --- nodes ---------------------------------------------------------------------


@click.group("nodes")
def nodes() -> None:
    """Register storage nodes, list them, and take them through their lifecycle."""


def node_env(settings: AppSettings, node_id: str, credential: str) -> dict[str, str]:
    """The environment a storage node needs to join this installation.

    Its Redis URL names the node's own Redis user (``pixelfox_app.redis_users``)
    with its credential as password, never the app's.
    """
    from pixelfox_app.redis_users import node_redis_url
    from pixelfox_protocol.tokens import public_key_of

    keys = [public_key_of(settings.token_signing_key)]
    keys += [k.strip() for k in settings.token_previous_public_keys.split(",") if k.strip()]
    return {
        "PIXELFOX_NODE_ID": node_id,
        "PIXELFOX_NODE_CREDENTIAL": credential,
        "PIXELFOX_APP_URL": settings.effective_internal_url,
        "PIXELFOX_TOKEN_PUBLIC_KEYS": ",".join(keys),
        "PIXELFOX_REDIS_URL": node_redis_url(
            settings.redis_url, settings.redis_prefix, node_id, credential
        ),
        "PIXELFOX_REDIS_PREFIX": settings.redis_prefix,
        # Browsers upload from the app's pages straight to the node: CORS for that origin.
        "PIXELFOX_CORS_ORIGIN": settings.public_domain.rstrip("/"),
    }


def _loopback_warnings(env: dict[str, str]) -> list[str]:
    """Addresses a node on another host could not reach (fine when it shares this host)."""
    from urllib.parse import urlsplit

    warnings = []
    for name in ("PIXELFOX_APP_URL", "PIXELFOX_REDIS_URL"):
        host = urlsplit(env[name]).hostname or ""
        if host in ("localhost", "::1") or host.startswith("127."):
            warnings.append(
                f"# warning: {name} points at {host}: a node on another host cannot reach it"
                f" (set PIXELFOX_{'INTERNAL_URL' if 'APP' in name else 'REDIS_URL'} here"
                " to an address the nodes reach)"
            )
    return warnings


@nodes.command("add")
@click.argument("node_id")
@click.option("--dns-name", default="", help="The node's host name, e.g. s01.example.net.")
@click.option("--rotate", is_flag=True, help="The node exists: issue it a new credential.")
def nodes_add(node_id: str, dns_name: str, rotate: bool) -> None:
    """Register a node and print the environment it needs (the credential is shown once)."""
    from pixelfox_app.nodes import register_node

    settings = AppSettings.from_env()
    if not settings.token_signing_key:
        raise click.ClickException(
            "PIXELFOX_TOKEN_SIGNING_KEY is not set: a node could not verify upload tokens"
        )
    try:
        node_env(settings, node_id, "")
    except ValueError as exc:
        raise click.ClickException(
            f"PIXELFOX_TOKEN_SIGNING_KEY is not a valid key: {exc}"
        ) from None

    async def work() -> str:
        if await StorageNode.exists(node_id=node_id) and not rotate:
            raise ValueError(
                f"node {node_id!r} already exists (use --rotate to issue a new credential; "
                "the old one stops working at once)"
            )
        return await register_node(node_id, dns_name)

    credential = with_db(settings, work)
    sync_after_change(settings)
    env = node_env(settings, node_id, credential)
    click.echo(f"# node {node_id!r} registered; put this into its environment:", err=True)
    for warning in _loopback_warnings(env):
        click.echo(warning, err=True)
    for name, value in env.items():
        click.echo(f"{name}={shlex.quote(value)}")


@nodes.command("list")
def nodes_list() -> None:
    """Show the registered nodes and how many pools each holds."""

    async def work() -> list[tuple[StorageNode, int]]:
        rows = []
        for node in await StorageNode.all().order_by("node_id"):
            rows.append((node, await StoragePool.filter(node_id=node.node_id).count()))
        return rows

    rows = with_db(AppSettings.from_env(), work)
    if not rows:
        click.echo("no nodes registered (add one with 'pixelfox nodes add <node_id>')")
        return
    table: list[tuple[str, ...]] = [
        ("NODE", "DNS NAME", "ZONE", "STATE", "ACTIVE", "VERSION", "LAST SEEN", "POOLS")
    ]
    for node, pool_count in rows:
        # Stored in UTC; said so, so nobody reads it as local time.
        seen = (
            node.last_seen_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S %Z")
            if node.last_seen_at
            else "never"
        )
        table.append(
            (
                node.node_id,
                node.dns_name or "-",
                node.zone or "-",
                str(node.state),
                "yes" if node.is_active else "no",
                node.version or "-",
                seen,
                str(pool_count),
            )
        )
    echo_table(table)


# --- idempotent registration for provisioning (see provisioning.py) ------------

nodes.add_command(provisioning.nodes_ensure)
nodes.add_command(copies.nodes_lost)
nodes.add_command(provisioning.nodes_ready)
for _command in lifecycle.COMMANDS:
    nodes.add_command(_command)
nodes.add_command(poolmaps.nodes_pool_maps)
pools.add_command(provisioning.pools_ensure)

COMMANDS: list[click.Command] = [migrate_command, create_admin_command, nodes, pools]
