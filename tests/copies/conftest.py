"""Replicas on the moves tests' stack: the app, its control worker, nodes s01 and s02.

The stack (``tests.moves.conftest.stack``) is the same real processes; this
package gets its own. Every test module here runs in the package's event
loop: ``pytestmark = pytest.mark.asyncio(loop_scope="package")``.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from pixelfox_app.models import CopyState, ImageCopy, ImageVariant
from pixelfox_protocol.internal import VARIANTS_PATH, node_authorization
from tests.moves.conftest import Stack, Stored, stack

__all__ = ["report_processed", "stack", "wait_for_copies"]


async def report_processed(stack: Stack, stored: Stored, node_id: str = "s01") -> httpx.Response:
    """Tell the app, as the node's worker does, that the image's variants are ready."""
    variants = [
        {
            "kind": v.kind,
            "format": v.format,
            "path": v.path,
            "size": v.size,
            "width": v.width,
            "height": v.height,
        }
        for v in await ImageVariant.filter(image_id=stored.id)
    ]
    node = stack.nodes[node_id]
    async with httpx.AsyncClient() as client:
        return await client.post(
            stack.app_url + VARIANTS_PATH.format(image_uuid=stored.uuid),
            json={"state": "ready", "variants": variants},
            headers={"Authorization": node_authorization(node_id, node.credential)},
        )


async def wait_for_copies(
    stack: Stack, stored: Stored, count: int, within: float = 60
) -> list[ImageCopy]:
    """Until the image has ``count`` verified copies (pools loaded)."""
    deadline = time.monotonic() + within
    while True:
        copies = await ImageCopy.filter(image_id=stored.id).select_related("pool").order_by("id")
        if sum(c.state == CopyState.VERIFIED for c in copies) >= count:
            return list(copies)
        if time.monotonic() > deadline:
            states = [(c.pool.name, str(c.state)) for c in copies]
            raise AssertionError(f"copies of {stored.uuid}: {states}\n{stack.logs()}")
        await asyncio.sleep(0.1)
