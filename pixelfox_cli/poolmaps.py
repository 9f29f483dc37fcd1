"""``pixelfox nodes pool-maps [--wait S]``: whether every node holds its current pool map.

The app answers each heartbeat with the node's pool map and its version; the
node adopts it and names that version in its next beat, sent at once. A
playbook that changed pools (the drain makes one inactive) waits on this
instead of a fixed pause: it ends as soon as every node has the change.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import click

from pixelfox_app.config import AppSettings

from .dbcommand import with_db

# How often --wait looks again: a node acknowledges within one beat of the change.
POLL_SECONDS = 0.5


@dataclass(frozen=True)
class NodeMap:
    node_id: str
    current: str
    held: str | None  # None: no fresh heartbeat (not waited for)

    @property
    def settled(self) -> bool:
        return self.held is None or self.held == self.current

    def line(self) -> str:
        if self.held is None:
            return (
                f"ok    {self.node_id}: no fresh heartbeat; "
                f"it loads pool map {self.current} when it starts"
            )
        if self.settled:
            return f"ok    {self.node_id}: holds pool map {self.current}"
        return (
            f"wait  {self.node_id}: holds pool map {self.held or '(none)'}, current {self.current}"
        )


async def node_maps(settings: AppSettings) -> list[NodeMap]:
    """Each node in service: the pool map version it should hold, and the one its beat names."""
    from pixelfox_app.internal.heartbeat import node_config
    from pixelfox_app.models import NodeState, StorageNode
    from pixelfox_app.nodequeue import connect
    from pixelfox_app.placement.health import FRESH_SECONDS, StoredBeat
    from pixelfox_protocol.keys import RedisKeys

    nodes = await StorageNode.filter(is_active=True).exclude(state=NodeState.RETIRED)
    keys = RedisKeys(settings.redis_prefix)
    redis = connect(settings.redis_url, settings.ca_file)
    try:
        maps = []
        for node in sorted(nodes, key=lambda n: n.node_id):
            key = keys.node_heartbeat(node.node_id)
            stored = StoredBeat.parse(await redis.get(key), await redis.ttl(key))
            fresh = stored is not None and stored.age() <= FRESH_SECONDS
            held = stored.heartbeat.pool_map_version if stored is not None and fresh else None
            maps.append(NodeMap(node.node_id, (await node_config(node)).version, held))
        return maps
    finally:
        await redis.aclose()


@click.command("pool-maps")
@click.option(
    "--wait",
    "wait_seconds",
    type=float,
    default=0.0,
    show_default=True,
    help="Wait up to this many seconds until every node holds its current pool map.",
)
def nodes_pool_maps(wait_seconds: float) -> None:
    """Exit 0 when every node in service holds its current pool map; one line per node.

    A node without a fresh heartbeat is not waited for: it loads the current map
    when it starts. Exit 1 when a node still holds an older map (after --wait).
    """
    settings = AppSettings.from_env()

    async def work() -> list[NodeMap]:
        deadline = time.monotonic() + wait_seconds
        while True:
            maps = await node_maps(settings)
            if all(m.settled for m in maps) or time.monotonic() >= deadline:
                return maps
            await asyncio.sleep(POLL_SECONDS)

    maps = with_db(settings, work)
    for node_map in maps:
        click.echo(node_map.line())
    if not maps:
        click.echo("ok    no node in service")
    if not all(m.settled for m in maps):
        raise click.exceptions.Exit(1)
