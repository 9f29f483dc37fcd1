"""Storage nodes: a live heartbeat table (the page polls it only while the tab is visible),
and each node's lifecycle step (drain, retire, activate, remove; ``node_lifecycle``)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from ...copies.stats import copy_stats
from ...models import NodeState, StorageNode, StoragePool
from ...node_lifecycle import LifecycleError, activate, drain, remove, retire
from ...nodes import node_of
from ...pool_health import STALE_AFTER, NodeBeat, read_beats
from ..access import page_admin_required
from ..render import error_page, page
from .base import blueprint, keys, redis

POLL_SECONDS = 5


@dataclass(frozen=True)
class NodeRow:
    node_id: str
    dns_name: str
    pools: int
    beat: NodeBeat
    last_seen_at: datetime | None
    registered: bool
    zone: str = ""
    lifecycle: str = NodeState.ACTIVE
    # Why the last lifecycle step on this row was refused (shown in the row).
    error: str = ""

    @property
    def retired(self) -> bool:
        return self.lifecycle == NodeState.RETIRED

    @property
    def state(self) -> str:
        # A retired node is expected to be silent: that is no failure.
        if self.retired:
            return "info"
        if self.beat.heartbeat is None:
            return "error"
        if self.beat.age is not None and self.beat.age > STALE_AFTER:
            return "stale"
        return "ok"

    @property
    def label(self) -> str:
        if self.retired:
            return "retired"
        return {"ok": "online", "stale": f"stale {int(self.beat.age or 0)} s", "error": "offline"}[
            self.state
        ]

    @property
    def free_bytes(self) -> int | None:
        hb = self.beat.heartbeat
        return sum(p.free_bytes for p in hb.pools) if hb is not None else None

    @property
    def capacity_bytes(self) -> int | None:
        hb = self.beat.heartbeat
        return sum(p.capacity_bytes for p in hb.pools) if hb is not None else None

    @property
    def used_bytes(self) -> int | None:
        hb = self.beat.heartbeat
        return sum(p.used_bytes for p in hb.pools) if hb is not None else None

    @property
    def used_pct(self) -> float | None:
        # Used of what the pools may hold (their capacity), not of the whole disk.
        capacity, used = self.capacity_bytes, self.used_bytes
        if not capacity or used is None:
            return None
        return min(100.0, 100.0 * used / capacity)


async def node_rows() -> list[NodeRow]:
    """Every registered node, plus node ids that pools name but nobody registered."""
    nodes = {n.node_id: n for n in await StorageNode.all()}
    pool_counts: dict[str, int] = {}
    for pool in await StoragePool.all():
        pool_counts[node_of(pool)] = pool_counts.get(node_of(pool), 0) + 1
    ids = sorted(set(nodes) | set(pool_counts))
    beats = await read_beats(redis(), keys(), ids)
    return [
        NodeRow(
            node_id=node_id,
            dns_name=nodes[node_id].dns_name if node_id in nodes else "",
            pools=pool_counts.get(node_id, 0),
            beat=beats[node_id],
            last_seen_at=nodes[node_id].last_seen_at if node_id in nodes else None,
            registered=node_id in nodes,
            zone=nodes[node_id].zone if node_id in nodes else "",
            lifecycle=nodes[node_id].state if node_id in nodes else NodeState.ACTIVE,
        )
        for node_id in ids
    ]


@blueprint.get("/nodes")
@page_admin_required
async def nodes_index():
    """The nodes table (its own fragment when htmx polls it) and the copies of images."""
    return await page(
        "admin/nodes/index.html",
        "admin/nodes/_table.html",
        nodes=await node_rows(),
        poll_seconds=POLL_SECONDS,
        copies=await copy_stats(),
    )


STEPS = {"drain": drain, "retire": retire, "activate": activate, "remove": remove}


@blueprint.post("/nodes/<string:node_id>/<string:step>")
@page_admin_required
async def node_step(node_id: str, step: str):
    """One lifecycle step of a node; answers the refreshed table (htmx swaps it in)."""
    action = STEPS.get(step)
    if action is None or not await StorageNode.exists(node_id=node_id):
        return await error_page(404, "Not found", "There is no such node or step.")
    refused = ""
    try:
        await action(node_id)
    except LifecycleError as exc:
        refused = str(exc)
    rows = await node_rows()
    if refused:
        rows = [replace(r, error=refused) if r.node_id == node_id else r for r in rows]
    # A removed node's Redis user goes at the control worker's next sync (within a minute).
    table = await page("admin/nodes/_table.html", nodes=rows, poll_seconds=POLL_SECONDS)
    return table, (422 if refused else 200)
