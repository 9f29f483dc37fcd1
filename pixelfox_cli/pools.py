"""``pixelfox pools add|list|edit``: every operator-set field of a storage pool as an option."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import click

from pixelfox_app import pools as pool_rules
from pixelfox_app.config import AppSettings
from pixelfox_app.models import PoolTier, PoolType, StoragePool

from .dbcommand import echo_table, with_db

_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?\s*$", re.IGNORECASE)


class ByteSize(click.ParamType):
    """A byte count: ``1073741824``, ``500M``, ``1.5T`` or ``20GiB`` (powers of 1024)."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        match = _SIZE.match(str(value))
        if not match:
            self.fail(f"{value!r} is not a size such as 500G or 1073741824", param, ctx)
        return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def _human(size: int) -> str:
    if size < 1024:
        return str(size)
    value = float(size)
    for unit in ("K", "M", "G", "T", "P"):
        value /= 1024
        if value < 1024 or unit == "P":
            break
    return f"{value:.1f}{unit}"


def pool_options(*, editing: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The field options shared by ``add`` and ``edit`` (on edit, omitted = unchanged)."""

    def opt(*names: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        if editing:
            for key in ("default", "show_default", "required"):
                kwargs.pop(key, None)
            kwargs["default"] = None
        return click.option(*names, **kwargs)

    options = [
        opt("--type", "type_", type=click.Choice([t.value for t in PoolType]), default="local",
            show_default=True, help="Kind of storage."),
        opt("--tier", type=click.Choice([t.value for t in PoolTier]), default="hot",
            show_default=True, help="Only hot pools take uploads."),
        opt("--priority", type=int, default=100, show_default=True,
            help="Rank under the 'priority' placement strategy (lower goes first)."),
        opt("--base-path", required=True, help="Absolute directory of the pool on its node."),
        opt("--public-base-url", default="",
            help="Origin serving /uploads/ of this pool (empty: the public domain)."),
        opt("--cdn-base-url", default="", help="CDN origin in front of the pool (optional)."),
        opt("--upload-api-url", default="",
            help="The node's upload endpoint (empty: <public base>/api/internal/upload)."),
        opt("--node", "node_id", default="local", show_default=True,
            help="Node holding the pool: a registered node id, or 'local'."),
        opt("--region", default="", help="Region for affinity, e.g. eu-central."),
        opt("--weight", type=int, default=100, show_default=True,
            help="Share under the 'weighted_random' strategy."),
        opt("--capacity", "capacity_bytes", type=ByteSize(), default="0",
            help="Size of the pool, e.g. 500G (0: not set)."),
        opt("--reserve", "reserve_bytes", type=ByteSize(), default="1G", show_default=True,
            help="Free space kept back; no uploads below it."),
        opt("--active/--inactive", "is_active", default=True, help="Serve and accept files."),
        opt("--upload-target/--no-upload-target", "is_upload_target", default=True,
            help="Eligible for new uploads."),
        opt("--backup-bucket", default="", help="S3 bucket for cold copies of originals."),
        opt("--backup-prefix", default="", help="Key prefix inside the backup bucket."),
        opt("--replication-factor", type=click.IntRange(0, 3), default=0,
            help="Copies of each image on distinct nodes, 1-3 (0: 2 with 2+ nodes, else 1)."),
    ]  # fmt: skip

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


def _fields(options: dict[str, Any]) -> dict[str, Any]:
    values = {("type" if k == "type_" else k): v for k, v in options.items()}
    return {k: v for k, v in values.items() if v is not None}


@click.group("pools")
def pools() -> None:
    """Add, list and edit storage pools."""


@pools.command("add")
@click.argument("name")
@pool_options(editing=False)
def pools_add(name: str, **options: Any) -> None:
    """Create a pool (its node must be registered, or be 'local')."""
    pool = with_db(
        AppSettings.from_env(), lambda: pool_rules.create_pool(name=name, **_fields(options))
    )
    click.echo(
        f"pool {pool.name!r} created (id {pool.id}) on node {pool_rules.effective_node_id(pool)}"
    )


@pools.command("edit")
@click.argument("name")
@click.option("--name", "new_name", default=None, help="Rename the pool.")
@pool_options(editing=True)
def pools_edit(name: str, new_name: str | None, **options: Any) -> None:
    """Change the given fields of a pool; others stay as they are."""
    changes = _fields(options)
    if new_name is not None:
        changes["name"] = new_name
    if not changes:
        raise click.ClickException("nothing to change: give at least one option")
    pool = with_db(AppSettings.from_env(), lambda: pool_rules.edit_pool(name, **changes))
    click.echo(f"pool {pool.name!r} updated: {', '.join(sorted(changes))}")


async def _health_labels(settings: AppSettings, pools: list[StoragePool]) -> dict[int, str]:
    """Each pool's health badge, as the admin shows it (heartbeats and upload API checks)."""
    from pixelfox_app.nodequeue import connect
    from pixelfox_app.pool_health import pools_health
    from pixelfox_protocol.keys import RedisKeys

    redis = connect(settings.redis_url, settings.ca_file)
    try:
        badges = await pools_health(redis, RedisKeys(settings.redis_prefix), pools)
    except Exception as exc:  # Redis down: the table still shows, health says why not
        click.echo(f"# warning: health unknown, Redis did not answer: {exc}", err=True)
        return {}
    finally:
        await redis.aclose()
    # ok / stale / error: the admin badge's state ("API OK", "stale N s", "Fehler").
    return {p.id: badges[p.id].state if p.is_active else "inactive" for p in pools}


@pools.command("list")
@click.option("--urls", is_flag=True, help="Show the effective public and upload URLs.")
def pools_list(urls: bool) -> None:
    """Show every pool; empty URLs show the runtime default they resolve to."""
    settings = AppSettings.from_env()

    async def work() -> tuple[list[StoragePool], dict[int, str]]:
        pools = list(await StoragePool.all().order_by("id"))
        return pools, await _health_labels(settings, pools)

    rows, health = with_db(settings, work)
    if not rows:
        click.echo("no pools (add one with 'pixelfox pools add <name> --base-path <dir>')")
        return
    header: tuple[str, ...] = (
        "ID", "NAME", "NODE", "TYPE", "TIER", "ACTIVE", "UPLOADS", "PRIO", "WEIGHT",
        "USED", "CAPACITY", "RESERVE", "HEALTH", "BASE PATH",
    )  # fmt: skip
    if urls:
        header += ("PUBLIC BASE URL", "UPLOAD API URL")
    table = [header]
    for pool in rows:
        row: tuple[str, ...] = (
            str(pool.id),
            pool.name,
            pool_rules.effective_node_id(pool),
            str(pool.type),
            str(pool.tier),
            "yes" if pool.is_active else "no",
            "yes" if pool.is_upload_target else "no",
            str(pool.priority),
            str(pool.weight),
            _human(pool.used_bytes),
            _human(pool.capacity_bytes) if pool.capacity_bytes else "-",
            _human(pool.reserve_bytes),
            health.get(pool.id, "-"),
            pool.base_path,
        )
        if urls:
            row += (
                pool_rules.effective_public_base_url(pool, settings),
                pool_rules.effective_upload_api_url(pool, settings),
            )
        table.append(row)
    echo_table(table)
