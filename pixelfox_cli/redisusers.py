"""``pixelfox redis-users sync|show``: the Redis user of every principal (see
``pixelfox_app.redis_users``), and the sync that ``nodes add`` and ``nodes ensure``
run after they changed a node."""

from __future__ import annotations

from typing import Any

import click
from redis.asyncio import Redis
from redis.exceptions import RedisError

from pixelfox_app import redis_users
from pixelfox_app.config import AppSettings

from .dbcommand import with_db


async def _sync(settings: AppSettings) -> redis_users.SyncResult:
    redis = Redis.from_url(settings.effective_redis_users_url, socket_connect_timeout=5)
    try:
        return await redis_users.sync(redis, settings.redis_prefix)
    finally:
        await redis.aclose()


def sync_now(settings: AppSettings) -> redis_users.SyncResult:
    """Sync the node users (the ORM is open); a ClickException when Redis refuses."""

    async def work() -> redis_users.SyncResult:
        try:
            return await _sync(settings)
        except RedisError as exc:
            raise click.ClickException(
                f"could not set the Redis users: {exc} (PIXELFOX_REDIS_USERS_URL names a"
                " user that may run ACL SETUSER, e.g. the control worker's)"
            ) from None

    return with_db(settings, work)


def sync_after_change(settings: AppSettings) -> None:
    """Best effort after a node changed: the control worker syncs within a minute anyway."""
    try:
        result = sync_now(settings)
    except click.ClickException as exc:
        click.echo(f"# warning: {exc.message}; the control worker retries every minute", err=True)
        return
    click.echo(f"# redis users set: {', '.join(result.set) or 'none'}", err=True)


@click.group("redis-users")
def redis_users_group() -> None:
    """The Redis user of the app, the control worker and every storage node."""


@redis_users_group.command("sync")
def sync_command() -> None:
    """Set every registered node's Redis user; delete the users of nodes that are gone."""
    result = sync_now(AppSettings.from_env())
    click.echo(f"set: {', '.join(result.set) or 'none'}")
    click.echo(f"removed: {', '.join(result.removed) or 'none'}")


@redis_users_group.command("show")
def show_command() -> None:
    """Print the users this installation wants (node passwords as SHA-256) and what Redis has."""
    settings = AppSettings.from_env()

    async def work() -> tuple[list[redis_users.RedisUser], list[Any]]:
        wanted = redis_users.wanted_users(
            settings.redis_prefix, await redis_users.registered_nodes()
        )
        redis = Redis.from_url(settings.effective_redis_users_url, socket_connect_timeout=5)
        try:
            present = await redis.execute_command("ACL", "USERS")
        except RedisError as exc:
            present = [f"(unreadable: {exc})"]
        finally:
            await redis.aclose()
        return wanted, list(present)

    wanted, present = with_db(settings, work)
    click.echo("# wanted")
    for user in wanted:
        click.echo(user.acl_line())
    click.echo("# in redis")
    prefix = settings.redis_prefix + "-"
    for name in present:
        text = name.decode() if isinstance(name, bytes) else str(name)
        if text.startswith(prefix) or text.startswith("("):
            click.echo(text)


__all__ = ["redis_users_group", "sync_after_change", "sync_now"]
