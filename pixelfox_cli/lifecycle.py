"""``pixelfox nodes drain|retire|activate|remove|state``: a node's lifecycle.

active → draining → retired → removed (``pixelfox_app.node_lifecycle``). Each
command prints one line starting with ``updated``, ``unchanged`` or
``removed``, so the playbooks can tell a change from a no-op.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import click

from pixelfox_app.config import AppSettings

from .dbcommand import with_db


def _step(work: Callable[[str], Awaitable[str]], node_id: str) -> str:
    from pixelfox_app.node_lifecycle import LifecycleError

    settings = AppSettings.from_env()
    try:
        return with_db(settings, lambda: work(node_id))
    except LifecycleError as exc:
        raise click.ClickException(str(exc)) from None


@click.command("drain")
@click.argument("node_id")
def nodes_drain(node_id: str) -> None:
    """Mark NODE_ID draining: placement skips it; it keeps serving while its images move."""
    from pixelfox_app.node_lifecycle import drain

    click.echo(_step(drain, node_id))


@click.command("retire")
@click.argument("node_id")
def nodes_retire(node_id: str) -> None:
    """Retire an emptied NODE_ID: no heartbeat expected, never placed, pools inactive.

    Refused while images, variants or copies still live on its pools (drain it
    first). site.yml then leaves the node's services stopped.
    """
    from pixelfox_app.node_lifecycle import retire

    click.echo(_step(retire, node_id))


@click.command("activate")
@click.argument("node_id")
def nodes_activate(node_id: str) -> None:
    """Take a draining or retired NODE_ID back into service (its pools active again)."""
    from pixelfox_app.node_lifecycle import activate

    click.echo(_step(activate, node_id))


@click.command("remove")
@click.argument("node_id")
def nodes_remove(node_id: str) -> None:
    """Forget a retired NODE_ID and its pools, once no image, copy or move points at them."""
    from pixelfox_app.node_lifecycle import remove

    from .redisusers import sync_after_change

    verdict = _step(remove, node_id)
    # The node's Redis user goes with it.
    sync_after_change(AppSettings.from_env())
    click.echo(verdict)


@click.command("state")
@click.argument("node_id")
def nodes_state(node_id: str) -> None:
    """Print NODE_ID's lifecycle state: active, draining, retired, or unregistered."""
    from pixelfox_app.models import StorageNode

    async def work() -> str:
        node = await StorageNode.get_or_none(node_id=node_id)
        return "unregistered" if node is None else str(node.state)

    click.echo(with_db(AppSettings.from_env(), work))


COMMANDS = [nodes_drain, nodes_retire, nodes_activate, nodes_remove, nodes_state]
