"""A delete racing a move between two nodes: the delete wins, no copy comes back to life.

Images of a pool are moved from s01 to s02 while an admin deletes every one
of them. Each delete lands somewhere in its image's move: before the ticket
(skipped), between ticket and copy (the trash job took the files first: the
move finds no original), before the grant (refused), or while the copies are
pushed (the rows switch to s02 and s02 trashes its copies). Whichever it is,
afterwards no file of any image is served on either node, and every file is
in the trash of the pool its row names, once.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from pixelfox_app.models import Image, ImageVariant
from tests.moves.conftest import Stack, Stored

pytestmark = pytest.mark.asyncio(loop_scope="package")


def _where(stored: Stored, bases: list[str]) -> tuple[list[str], list[str]]:
    """(live files, trashed files) of the image over the given pool folders."""
    live, trashed = [], []
    for base in bases:
        for rel in stored.files:
            if (Path(base) / rel).is_file():
                live.append(f"{base}:{rel}")
            if (Path(base) / ".trash" / rel).is_file():
                trashed.append(f"{base}:{rel}")
    return live, trashed


async def test_deletes_racing_a_move_leave_no_file_served_on_either_node(stack: Stack):
    source, target = await stack.pool("s01"), await stack.pool("s02")
    images = [await stack.image(source, private=n % 3 == 0) for n in range(12)]
    bases = [source.base_path, target.base_path]
    move_id = stack.start_move(source, target, batch_size=2)["id"]
    # The deletes come while the move runs, one image after the other as it does.
    await stack.wait_for(move_id, done_at_least=1)

    async with httpx.AsyncClient(base_url=stack.app_url, headers=stack.admin) as admin:
        for n, stored in enumerate(images):
            answer = await admin.delete(f"/api/v1/images/{stored.uuid}")
            assert answer.status_code == 204, answer.text
            await asyncio.sleep(0.03 * (n % 3))
        move = await stack.wait_for(move_id)
        assert move["state"] == "done", move

        deadline = asyncio.get_running_loop().time() + 60
        while True:
            spread = {s.uuid: _where(s, bases) for s in images}
            settled = all(
                not live and len(t) == len(s.files)
                for s, (live, t) in zip(images, spread.values(), strict=True)
            )
            if settled or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(2)  # a late job would put a file back now
        for stored in images:
            live, trashed = _where(stored, bases)
            assert live == [], (live, stack.logs())
            image = await Image.get(id=stored.id).select_related("pool")
            assert image.deleted_at is not None
            # Once, in the trash of the pool the rows name.
            assert len(trashed) == len(stored.files), trashed
            assert all(t.startswith(image.pool.base_path + ":") for t in trashed), trashed
            pools = await ImageVariant.filter(image_id=stored.id).values_list("pool_id", flat=True)
            assert set(pools) <= {image.pool.id}
            assert (await admin.get(f"/api/v1/image/status/{stored.uuid}")).status_code == 404
