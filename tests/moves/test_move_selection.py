"""Moving ticked images from the admin's Images page: those, and only those, go to the target."""

from __future__ import annotations

import re

import httpx
import pytest

from pixelfox_app.models import Move, StoragePool
from tests.moves.conftest import PASSWORD, Stack, sha256
from tests.moves.test_moves import _files_at, _gone_from, _on_pool, _readable

pytestmark = pytest.mark.asyncio(loop_scope="package")


def _admin_session(stack: Stack) -> tuple[httpx.Client, str]:
    """A logged-in admin's browser session on the app, and its CSRF token."""
    client = httpx.Client(base_url=stack.app_url)
    csrf = client.get("/api/v1/csrf").json()["csrf_token"]
    login = client.post(
        "/login", data={"username": "admin", "password": PASSWORD, "csrf_token": csrf}
    )
    assert login.status_code == 302, login.text
    return client, client.get("/api/v1/csrf").json()["csrf_token"]


async def test_ticked_images_of_two_pools_move_to_the_target_and_the_others_stay(stack: Stack):
    first, second = await stack.pool("s01"), await stack.pool("s01")
    target = await stack.pool("s02")
    on_first = [await stack.image(first), await stack.image(first, private=True)]
    stays = [await stack.image(first), await stack.image(second)]
    on_second = [await stack.image(second)]
    chosen = on_first + on_second
    client, csrf = _admin_session(stack)

    answer = client.post(
        "/admin/images/actions",
        data={"action": "move", "target_pool": target.name, "image": [s.id for s in chosen]},
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )

    assert answer.status_code == 200, answer.text
    assert f"3 images on the way to {target.name}" in answer.text
    move_ids = [int(m) for m in re.findall(r'data-move="(\d+)"', answer.text)]
    assert len(move_ids) == 2  # one per source pool
    moves = [await stack.wait_for(m) for m in move_ids]
    by_source = {m["source"]: m for m in moves}
    assert {m["state"] for m in moves} == {"done"}, moves
    assert (by_source[first.name]["planned"], by_source[first.name]["done"]) == (2, 2)
    assert (by_source[second.name]["planned"], by_source[second.name]["done"]) == (1, 1)
    assert by_source[first.name]["chosen_images"] == 2
    assert all(m["target"] == target.name and m["images_left"] == 0 for m in moves)
    for stored in chosen:
        assert await _on_pool(stored, target.id)
        assert _files_at(target.base_path, stored) == {
            rel: sha256(data) for rel, data in stored.files.items()
        }
        await _gone_from(first.base_path, stored)
        await _gone_from(second.base_path, stored)
        _readable(stack, stored)
    for stored, pool in zip(stays, (first, second), strict=True):
        assert await _on_pool(stored, pool.id)
        assert _files_at(target.base_path, stored) == {}
        _readable(stack, stored)
    # Not drained: the sources stay in placement.
    sources = await StoragePool.filter(id__in=[first.id, second.id])
    assert [p.is_upload_target for p in sources] == [True, True]
    rows = await Move.filter(id__in=move_ids).order_by("id")
    assert sorted(i for m in rows for i in m.image_ids or []) == sorted(s.id for s in chosen)
    client.close()
