"""A storage node's life: active → draining → retired → removed.

- **active**: placement may pick its pools; it is expected to beat.
- **draining**: being emptied (``drain-storage-node.yml``, or the operator):
  placement skips it, it still serves, beats and hands its files over.
- **retired**: out of service for good. It holds no image any more; it is not
  expected to beat (doctor and the admin say "retired", not "failing"), its
  credential is refused, its pools are inactive, placement never picks it, and
  ``site.yml`` leaves its services stopped.
- **removed**: the row and its pools are gone, once nothing points at them: no
  image, variant or copy row, and no unfinished move. Finished moves from or to
  its pools go with it (their history).

``activate`` takes a draining or retired node back into service (its pools
become active again; whether they take uploads is the operator's or
``site.yml``'s call). Every function returns a one-line verdict that starts
with ``updated``, ``unchanged`` or ``removed``, the provisioning commands' shape.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from .models import (
    CopyState,
    Image,
    ImageCopy,
    ImageVariant,
    Move,
    MoveItem,
    MoveState,
    NodeState,
    StorageNode,
    StoragePool,
)

_LIVE_COPIES = [CopyState.PENDING, CopyState.VERIFIED]
# A move in one of these states has ended; anything else still runs or may resume.
_FINISHED_MOVES = {MoveState.DONE, MoveState.CANCELLED, MoveState.FAILED}


class LifecycleError(ValueError):
    """The node cannot take that step (unknown, or it still holds something)."""


@dataclass(frozen=True)
class Holdings:
    """What still points at a node's pools."""

    images: int
    variants: int
    # Copies readers may use (pending or verified), and the rest (lost, being removed).
    copies: int
    other_copies: int
    open_moves: int

    @property
    def serving(self) -> bool:
        """Whether readers or a move still need the node's files."""
        return bool(self.images or self.variants or self.copies or self.open_moves)

    @property
    def empty(self) -> bool:
        return not (self.serving or self.other_copies)

    def describe(self) -> str:
        parts = [
            f"{n} {what}"
            for n, what in (
                (self.images, "image(s)"),
                (self.variants, "variant(s)"),
                (self.copies, "copy(ies)"),
                (self.other_copies, "lost or removing copy row(s)"),
                (self.open_moves, "unfinished move(s)"),
            )
            if n
        ]
        return ", ".join(parts) or "nothing"


async def _node(node_id: str) -> StorageNode:
    node = await StorageNode.get_or_none(node_id=node_id)
    if node is None:
        raise LifecycleError(f"node {node_id!r} is not registered")
    return node


async def _pool_ids(node_id: str) -> list[int]:
    return [pool.id for pool in await StoragePool.filter(node_id=node_id).only("id")]


async def holdings(node_id: str) -> Holdings:
    """What the database still keeps on ``node_id``'s pools."""
    pools = await _pool_ids(node_id)
    if not pools:
        return Holdings(0, 0, 0, 0, 0)
    open_moves = (
        await Move.filter(Q(source_id__in=pools) | Q(target_id__in=pools))
        .exclude(state__in=list(_FINISHED_MOVES))
        .count()
    )
    return Holdings(
        images=await Image.filter(pool_id__in=pools).count(),
        variants=await ImageVariant.filter(pool_id__in=pools).count(),
        copies=await ImageCopy.filter(pool_id__in=pools, state__in=_LIVE_COPIES).count(),
        other_copies=await ImageCopy.filter(pool_id__in=pools)
        .exclude(state__in=_LIVE_COPIES)
        .count(),
        open_moves=open_moves,
    )


async def drain(node_id: str) -> str:
    """Mark the node draining (placement skips it); a no-op when it is draining or retired."""
    node = await _node(node_id)
    if node.state == NodeState.DRAINING:
        return f"unchanged node {node_id!r}: draining"
    if node.state == NodeState.RETIRED:
        # Past draining already: a drain run again after the retirement changes nothing.
        return f"unchanged node {node_id!r}: retired"
    await StorageNode.filter(id=node.id).update(state=NodeState.DRAINING)
    return f"updated node {node_id!r}: draining"


async def retire(node_id: str) -> str:
    """Retire an emptied node: refused while images or variants still live on its pools."""
    node = await _node(node_id)
    if node.state == NodeState.RETIRED:
        return f"unchanged node {node_id!r}: retired"
    pools = await _pool_ids(node_id)
    held = await holdings(node_id)
    if held.serving:
        raise LifecycleError(
            f"node {node_id!r} still holds {held.describe()}: drain it first "
            "(playbooks/drain-storage-node.yml, or 'pixelfox moves start --from <pool>')"
        )
    async with in_transaction():
        await StorageNode.filter(id=node.id).update(state=NodeState.RETIRED, is_active=False)
        await StoragePool.filter(id__in=pools).update(is_active=False, is_upload_target=False)
    return f"updated node {node_id!r}: retired"


async def activate(node_id: str) -> str:
    """Take a draining or retired node back into service (its pools active again)."""
    node = await _node(node_id)
    if node.state == NodeState.ACTIVE and node.is_active:
        return f"unchanged node {node_id!r}: active"
    async with in_transaction():
        if node.state == NodeState.RETIRED:
            await StoragePool.filter(node_id=node_id).update(is_active=True)
        await StorageNode.filter(id=node.id).update(state=NodeState.ACTIVE, is_active=True)
    return f"updated node {node_id!r}: active"


async def remove(node_id: str) -> str:
    """Forget a retired node and its pools; refused while anything points at them."""
    node = await StorageNode.get_or_none(node_id=node_id)
    if node is None:
        return f"unchanged node {node_id!r}: not registered"
    if node.state != NodeState.RETIRED:
        raise LifecycleError(f"node {node_id!r} is {node.state}: retire it first")
    held = await holdings(node_id)
    if not held.empty:
        raise LifecycleError(f"node {node_id!r} still has {held.describe()} on its pools")
    pools = await _pool_ids(node_id)
    async with in_transaction():
        moves = Move.filter(Q(source_id__in=pools) | Q(target_id__in=pools))
        await MoveItem.filter(move_id__in=await moves.values_list("id", flat=True)).delete()
        await moves.delete()
        await StoragePool.filter(id__in=pools).delete()
        await StorageNode.filter(id=node.id).delete()
    return f"removed node {node_id!r} and {len(pools)} pool(s)"
