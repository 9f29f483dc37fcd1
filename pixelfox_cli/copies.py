"""``pixelfox nodes lost`` and ``pixelfox copies``: a dead node's copies, and the copies' state."""

from __future__ import annotations

import click

from pixelfox_app.config import AppSettings

from .dbcommand import echo_table, with_db


@click.command("lost")
@click.argument("node_id")
@click.option("--yes", is_flag=True, help="Do not ask: the node is gone for good.")
def nodes_lost(node_id: str, yes: bool) -> None:
    """Declare NODE_ID dead: its copies are lost, images switch to surviving copies, and
    every image that lost a copy is copied again (fresh uploads first).

    The node and its pools leave service (inactive). Nothing on the node is
    touched: it may be unreachable. An image whose only copy was there stays
    listed; ``pixelfox restore`` brings it back from the S3 backup.
    """
    from pixelfox_app.copies.lost import LostNode, declare_lost
    from pixelfox_app.nodequeue import connect
    from pixelfox_protocol.keys import RedisKeys

    if not yes:
        click.confirm(f"Declare node {node_id!r} lost for good?", abort=True)
    settings = AppSettings.from_env()

    async def work() -> LostNode:
        redis = connect(settings.redis_url, settings.ca_file)
        try:
            return await declare_lost(node_id, redis, RedisKeys(settings.redis_prefix))
        finally:
            await redis.aclose()

    result = with_db(settings, work)
    click.echo(
        f"node {node_id}: {result.copies_lost} copies lost on {len(result.pools)} pool(s), "
        f"{result.primaries_switched} image(s) switched to a surviving copy, "
        f"{result.jobs_queued} replica job(s) queued"
    )
    for image_uuid in result.without_copy:
        click.echo(f"no surviving copy: {image_uuid} (restore it from the backup)", err=True)


@click.command("copies")
def copies_command() -> None:
    """Per pool: the factor, images short of it and the oldest; the replication lag and
    the surplus copies being removed."""
    from pixelfox_app.copies.stats import CopyStats, copy_stats

    stats: CopyStats = with_db(AppSettings.from_env(), copy_stats)
    table: list[tuple[str, ...]] = [("POOL", "FACTOR", "UNDER-REPLICATED", "OLDEST")]
    for pool in stats.pools:
        oldest = pool.oldest.strftime("%Y-%m-%d %H:%M:%S") if pool.oldest else "-"
        table.append((pool.pool, str(pool.factor), str(pool.under_replicated), oldest))
    echo_table(table)
    click.echo(
        f"under-replicated: {stats.under_replicated}; pending copies: {stats.pending}, "
        f"lag p50 {stats.lag_p50:.1f} s, p95 {stats.lag_p95:.1f} s; "
        f"surplus copies being removed: {stats.removing}"
    )


COMMANDS: list[click.Command] = [copies_command]
