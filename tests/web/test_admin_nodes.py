"""The admin's node lifecycle: drain, retire, activate and remove from the nodes table."""

from __future__ import annotations

from pixelfox_app.models import NodeState, StorageNode, StoragePool
from pixelfox_app.nodes import register_node
from tests.web.conftest import Web, text_of


def _row(html: str, node_id: str) -> str:
    start = html.index(f'<tr id="node-{node_id}"')
    return html[start : html.index("</tr>", start)]


async def test_an_admin_drains_retires_and_removes_an_empty_node_from_the_table(web: Web):
    await web.admin()
    await register_node("s02")
    pool = await web.pool("s02-hot", "s02")

    drained = await web.post("/admin/nodes/s02/drain", {}, htmx=True)
    assert drained.status_code == 200
    row = _row(await drained.get_data(as_text=True), "s02")
    assert 'data-lifecycle="draining"' in row and 'data-step="retire"' in row
    assert (await StorageNode.get(node_id="s02")).state == NodeState.DRAINING

    retired = await web.post("/admin/nodes/s02/retire", {}, htmx=True)
    row = _row(await retired.get_data(as_text=True), "s02")
    # Silent by design: shown as retired, not as an offline (failing) node.
    assert "retired" in text_of(row) and "offline" not in text_of(row)
    assert 'data-step="remove"' in row and 'data-step="activate"' in row
    assert not (await StoragePool.get(id=pool.id)).is_active

    removed = await web.post("/admin/nodes/s02/remove", {}, htmx=True)
    assert removed.status_code == 200
    assert 'id="node-s02"' not in await removed.get_data(as_text=True)
    assert not await StorageNode.exists(node_id="s02")
    assert not await StoragePool.exists(id=pool.id)


async def test_a_refused_step_says_why_in_the_nodes_row_and_changes_nothing(web: Web):
    await web.admin()
    await register_node("s02")

    refused = await web.post("/admin/nodes/s02/remove", {}, htmx=True)

    assert refused.status_code == 422
    row = _row(await refused.get_data(as_text=True), "s02")
    assert "retire it first" in text_of(row)
    assert (await StorageNode.get(node_id="s02")).state == NodeState.ACTIVE


async def test_an_unknown_node_or_step_is_not_found(web: Web):
    await web.admin()
    await register_node("s02")
    assert (await web.post("/admin/nodes/s09/retire", {}, htmx=True)).status_code == 404
    assert (await web.post("/admin/nodes/s02/explode", {}, htmx=True)).status_code == 404
