"""Idempotent registration for provisioning tools: ``nodes ensure|ready``, ``pools ensure``.

The Ansible roles call these on the app host. Each ``ensure`` brings one record
to the state it is given and prints its verdict as the first word of its one
line (``created``, ``updated`` or ``unchanged``), so a caller can tell a change
from a no-op; ``nodes ready`` says whether a node can take uploads yet.
"""

from __future__ import annotations

import asyncio
import hmac
import os
from typing import Any

import click

from pixelfox_app.config import AppSettings
from pixelfox_app.models import StorageNode, StoragePool

from .dbcommand import with_db
from .pools import pool_options

# A credential is a random secret of at least this many characters (32 bytes
# of base64url or hex); anything shorter is a typo or an unset variable.
MIN_CREDENTIAL_LENGTH = 32


@click.command("ensure")
@click.argument("node_id")
@click.option("--dns-name", default="", help="The node's host name, e.g. s01.example.net.")
@click.option(
    "--credential-env",
    metavar="VAR",
    required=True,
    help="Environment variable holding the node's credential (keeps it out of ps).",
)
@click.option(
    "--zone",
    default=None,
    help="Failure domain (e.g. the provider's datacentre); replicas go to another zone.",
)
def nodes_ensure(node_id: str, dns_name: str, credential_env: str, zone: str | None) -> None:
    """Register NODE_ID with the caller's credential; a no-op when it is already so.

    Unlike ``nodes add``, the credential comes from the caller (the Ansible roles
    derive it on the controller), so running this again changes nothing. An
    existing node gets this credential, DNS name and zone (``--zone=`` clears
    it; omitted, it is kept); whether it is active is left to the admin.
    """
    from pixelfox_app.nodes import NODE_ID_PATTERN, credential_hash
    from pixelfox_app.pools import REGION_PATTERN

    credential = os.environ.get(credential_env, "")
    if len(credential) < MIN_CREDENTIAL_LENGTH:
        raise click.ClickException(
            f"${credential_env} must hold the node's credential "
            f"(at least {MIN_CREDENTIAL_LENGTH} characters)"
        )
    if not NODE_ID_PATTERN.match(node_id):
        raise click.ClickException("a node id is 1-32 lowercase letters, digits or dashes")
    if zone and not REGION_PATTERN.match(zone):
        raise click.ClickException("a zone is lowercase letters, digits and '-', e.g. 'fsn1'")
    wanted = credential_hash(credential)

    async def work() -> str:
        node = await StorageNode.get_or_none(node_id=node_id)
        if node is None:
            await StorageNode.create(
                node_id=node_id, dns_name=dns_name, credential_hash=wanted, zone=zone or ""
            )
            return f"created node {node_id!r}"
        changes: dict[str, Any] = {}
        if not hmac.compare_digest(node.credential_hash, wanted):
            changes["credential_hash"] = wanted
        if dns_name and node.dns_name != dns_name:
            changes["dns_name"] = dns_name
        if zone is not None and node.zone != zone:
            changes["zone"] = zone
        if not changes:
            return f"unchanged node {node_id!r}"
        await StorageNode.filter(id=node.id).update(**changes)
        names = ["credential" if k == "credential_hash" else k for k in changes]
        return f"updated node {node_id!r}: {', '.join(names)}"

    settings = AppSettings.from_env()
    verdict = with_db(settings, work)
    from .redisusers import sync_after_change

    # Also when unchanged: a Redis restarted without its ACL file gets the user back.
    sync_after_change(settings)
    click.echo(verdict)


@click.command("ready")
@click.argument("node_id")
@click.option("--timeout", default=5.0, show_default=True, help="Seconds per upload API check.")
def nodes_ready(node_id: str, timeout: float) -> None:
    """Exit 0 when NODE_ID can take uploads: active, heartbeat fresh, upload APIs answer.

    Checks what placement needs of a node: it is registered and active, its
    heartbeat is fresh by placement's rule (``FRESH_SECONDS``), and every
    active pool on it answers HEAD on its upload URL with 204. One line per check.
    """
    from pixelfox_app.pools import effective_upload_api_url

    settings = AppSettings.from_env()

    async def pools_of_node() -> tuple[StorageNode | None, list[StoragePool]]:
        node = await StorageNode.get_or_none(node_id=node_id)
        return node, list(await StoragePool.filter(node_id=node_id, is_active=True).order_by("id"))

    node, node_pools = with_db(settings, pools_of_node)
    if node is None:
        raise click.ClickException(f"node {node_id!r} is not registered")
    urls = [(pool.name, effective_upload_api_url(pool, settings)) for pool in node_pools]
    lines = asyncio.run(_probe(settings, node_id, urls, probe_seconds=timeout))
    if not node.is_active:
        lines.insert(0, (False, f"node {node_id}: inactive"))
    if not urls:
        lines.append((False, f"node {node_id}: no active pool"))
    for ok, line in lines:
        click.echo(f"{'ok  ' if ok else 'fail'}  {line}")
    if not all(ok for ok, _ in lines):
        raise click.exceptions.Exit(1)


async def _probe(
    settings: AppSettings, node_id: str, urls: list[tuple[str, str]], *, probe_seconds: float
) -> list[tuple[bool, str]]:
    import httpx
    from redis.asyncio import Redis

    from pixelfox_app.placement.health import FRESH_SECONDS, StoredBeat
    from pixelfox_common import tls
    from pixelfox_protocol.keys import RedisKeys

    lines: list[tuple[bool, str]] = []
    redis = Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=probe_seconds,
        **tls.redis_options(settings.redis_url, settings.ca_file),
    )
    try:
        key = RedisKeys(settings.redis_prefix).node_heartbeat(node_id)
        stored = StoredBeat.parse(await redis.get(key), await redis.ttl(key))
        # Placement's own rule, so "ready" means placement would take the node.
        fresh = stored is not None and stored.age() <= FRESH_SECONDS
        said = (
            "none"
            if stored is None
            else f"{'fresh' if fresh else 'stale'}, {stored.age():.0f} s old"
        )
        lines.append((fresh, f"heartbeat of {node_id}: {said}"))
    except Exception as exc:
        lines.append((False, f"heartbeat of {node_id}: Redis: {exc}"))
    finally:
        await redis.aclose()
    async with httpx.AsyncClient(
        timeout=probe_seconds, verify=tls.http_verify(settings.ca_file)
    ) as http:
        for name, url in urls:
            try:
                status = (await http.head(url)).status_code
            except httpx.HTTPError as exc:
                lines.append((False, f"pool {name}: HEAD {url}: {type(exc).__name__}: {exc}"))
                continue
            lines.append((status == 204, f"pool {name}: HEAD {url} → {status}"))
    return lines


@click.command("ensure")
@click.argument("name")
@pool_options(editing=True)
def pools_ensure(name: str, **options: Any) -> None:
    """Create pool NAME with the given fields, or bring the given fields to these values.

    Fields not given keep their value (on creation: the defaults of ``pools
    add``), except that a pool created here is not an upload target unless
    ``--upload-target`` is given: a new node takes uploads only when someone
    says so, after checking it is ready. An existing pool's base path is never
    changed (its files live there).
    """
    from pixelfox_app import pools as pool_rules

    given = {("type" if k == "type_" else k): v for k, v in options.items() if v is not None}

    async def work() -> str:
        clean = pool_rules.check_fields(given)
        pool = await StoragePool.get_or_none(name=name)
        if pool is None:
            clean.setdefault("is_upload_target", False)
            created = await pool_rules.create_pool(name=name, **clean)
            return f"created pool {name!r} (id {created.id})"
        if "base_path" in clean and clean["base_path"] != pool.base_path:
            raise pool_rules.PoolError(
                f"pool {name!r} lives at {pool.base_path}; refusing to move it to "
                f"{clean['base_path']} (its files are there)"
            )
        changes = {k: v for k, v in clean.items() if getattr(pool, k) != v}
        if not changes:
            return f"unchanged pool {name!r} (id {pool.id})"
        await pool_rules.edit_pool(name, **changes)
        return f"updated pool {name!r} (id {pool.id}): {', '.join(sorted(changes))}"

    click.echo(with_db(AppSettings.from_env(), work))
