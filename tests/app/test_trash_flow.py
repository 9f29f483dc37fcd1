"""Deleting into the trash end to end: a real app, storage node, node worker and nginx.

A deleted image disappears from its page, the status API and "My images" at
once, and its file URLs stop answering at nginx and at the node within
seconds (the files are renamed into the pool's ``.trash/``); restoring brings
every URL back. Deletes racing the variants of a fresh upload or a change to
private leave no file served; the API's refusals have stable codes.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from pixelfox_app.models import Image
from tests.app import images
from tests.app.test_private_flow import Stack, _codes, _upload, _urls, _wait, stack

pytestmark = pytest.mark.asyncio(loop_scope="module")

__all__ = ["stack"]  # the fixture, shared with the private-images flow


async def _all_answer(stack: Stack, urls: list[str], code: int) -> None:
    """Every URL answers ``code`` at the node and at nginx, within a minute."""
    for _ in range(240):
        answers = [await _codes(stack, url) for url in urls]
        if all(a == [code, code] for a in answers):
            return
        await asyncio.sleep(0.25)
    raise AssertionError(f"not all {code}: {list(zip(urls, answers, strict=True))}")


def _files_of(pool_dir: Path, image_uuid: str) -> tuple[list[str], list[str]]:
    """The image's files in place and in the trash, pool-relative."""
    found = [p for p in pool_dir.rglob(f"{image_uuid}*") if p.is_file()]
    rel = [str(p.relative_to(pool_dir)) for p in found]
    return [r for r in rel if not r.startswith(".trash/")], [
        r for r in rel if r.startswith(".trash/")
    ]


async def _ready(client: httpx.AsyncClient, status_url: str) -> dict[str, Any]:
    return await _wait(client, status_url, lambda s: s["state"] != "processing")


async def test_a_deleted_image_disappears_everywhere_and_a_restore_brings_every_url_back(
    stack: Stack,
):
    app = stack.app
    ada = await app.user("ada-del")
    async with await app.token_client(ada) as owner, app.client() as anonymous:
        session, status_url = await _upload(owner, images.jpeg(640, 480), "public")
        image_uuid = session["image_uuid"]
        ready = await _ready(owner, status_url)
        assert ready["state"] == "ready" and ready["variants"]
        image = await Image.get(uuid=uuid.UUID(image_uuid))
        await _all_answer(stack, _urls(ready), 200)

        answer = await owner.delete(f"/api/v1/images/{image_uuid}")
        assert answer.status_code == 204, answer.text
        # Hidden at once: status, page, list.
        assert (await owner.get(status_url)).status_code == 404
        assert (await anonymous.get(status_url)).status_code == 404
        assert (await owner.get(f"/i/{image.short_id}")).status_code == 404
        # Deleting again is fine.
        assert (await owner.delete(f"/api/v1/images/{image_uuid}")).status_code == 204
        # The files leave the served places within seconds.
        await _all_answer(stack, _urls(ready), 404)
        live, trashed = _files_of(stack.pool_dir, image_uuid)
        assert live == [] and len(trashed) == 1 + len(ready["variants"])

        restored = await owner.post(f"/api/v1/images/{image_uuid}/restore")
        assert restored.status_code == 200, restored.text
        assert restored.json()["deleted"] is False
        again = (await anonymous.get(status_url)).json()
        assert again["state"] == "ready" and _urls(again) == _urls(ready)
        await _all_answer(stack, _urls(ready), 200)
        live, trashed = _files_of(stack.pool_dir, image_uuid)
        assert trashed == [] and len(live) == 1 + len(ready["variants"])


async def test_only_the_owner_or_an_admin_deletes_and_refusals_have_stable_codes(stack: Stack):
    app = stack.app
    ada = await app.user("ada-codes")
    eve = await app.user("eve-codes")
    root = await app.user("root-codes", is_admin=True)
    async with (
        await app.token_client(ada) as owner,
        await app.token_client(eve) as stranger,
        await app.token_client(root) as admin,
        app.client() as anonymous,
    ):
        public, public_status = await _upload(owner, images.jpeg(), "public")
        private, _ = await _upload(owner, images.jpeg(), "private")
        await _ready(owner, public_status)

        async def code(client: httpx.AsyncClient, method: str, path: str) -> tuple[int, str]:
            answer = await client.request(method, path)
            body = answer.json() if answer.content else {}
            return answer.status_code, body.get("error", {}).get("code", "")

        one, other = (
            f"/api/v1/images/{public['image_uuid']}",
            f"/api/v1/images/{private['image_uuid']}",
        )
        assert await code(anonymous, "DELETE", one) == (401, "AUTH_REQUIRED")
        assert await code(stranger, "DELETE", one) == (403, "FORBIDDEN")
        # Another's private image: it does not exist for them.
        assert await code(stranger, "DELETE", other) == (404, "NOT_FOUND")
        assert await code(stranger, "DELETE", "/api/v1/images/not-a-uuid") == (404, "NOT_FOUND")
        assert await code(stranger, "DELETE", f"/api/v1/images/{uuid.uuid4()}") == (
            404,
            "NOT_FOUND",
        )
        # An admin deletes any image; once deleted, it is not there for others at all.
        assert (await admin.delete(one)).status_code == 204
        assert await code(stranger, "POST", one + "/restore") == (404, "NOT_FOUND")
        assert await code(stranger, "DELETE", one) == (404, "NOT_FOUND")
        assert (await owner.post(one + "/restore")).status_code == 200

        # Its purge started: no way back.
        assert (await owner.delete(other)).status_code == 204
        await Image.filter(uuid=uuid.UUID(private["image_uuid"])).update(
            purging_at=(await Image.get(uuid=uuid.UUID(private["image_uuid"]))).deleted_at
        )
        assert await code(owner, "POST", other + "/restore") == (409, "IMAGE_PURGING")


async def test_a_delete_racing_a_fresh_upload_and_a_change_to_private_leaves_nothing_served(
    stack: Stack,
):
    # The delete is asked for while the node still makes the variants and moves the
    # files to private/: the image's lock orders the jobs, and no file stays served.
    app = stack.app
    ada = await app.user("ada-race")
    async with await app.token_client(ada) as owner:
        session, status_url = await _upload(owner, images.jpeg(1600, 1200), "public")
        image_uuid = session["image_uuid"]
        switched = await owner.post(
            f"/api/v1/images/{image_uuid}/visibility", json={"visibility": "private"}
        )
        assert switched.status_code == 200, switched.text
        assert (await owner.delete(f"/api/v1/images/{image_uuid}")).status_code == 204

        for _ in range(240):
            live, trashed = _files_of(stack.pool_dir, image_uuid)
            if not live and trashed:
                await asyncio.sleep(2)  # a late job would put a file back now
                if _files_of(stack.pool_dir, image_uuid) == (live, trashed):
                    break
            await asyncio.sleep(0.25)
        assert live == [], live

        # Restored, the image finishes what the delete interrupted: private, with variants.
        assert (await owner.post(f"/api/v1/images/{image_uuid}/restore")).status_code == 200
        final = await _wait(
            owner,
            status_url,
            lambda s: s["state"] == "ready" and s["changing_to"] is None and s["variants"],
        )
    assert final["visibility"] == "private"
    for url in _urls(final):
        assert "/uploads/private/" in url
    await _all_answer(stack, _urls(final), 200)
    live, trashed = _files_of(stack.pool_dir, image_uuid)
    assert trashed == [] and all(p.startswith("private/") for p in live)


async def test_the_trash_page_lists_restores_and_deletes_for_good(stack: Stack):
    app = stack.app
    await app.user("ada-page")
    async with app.client() as browser, app.client() as anonymous:
        await app.login(browser, "ada-page")
        htmx = {"HX-Request": "true"}
        first, first_status = await _upload(browser, images.jpeg(), "public")
        second, second_status = await _upload(browser, images.jpeg(), "public")
        ready = [await _ready(browser, url) for url in (first_status, second_status)]
        one = await Image.get(uuid=uuid.UUID(first["image_uuid"]))
        two = await Image.get(uuid=uuid.UUID(second["image_uuid"]))

        page = await browser.get(f"/i/{one.short_id}")
        assert f'action="/i/{one.short_id}/delete"' in page.text
        for image in (one, two):
            deleted = await browser.post(f"/i/{image.short_id}/delete", headers=htmx)
            assert deleted.headers.get("HX-Redirect") == "/trash", deleted.text
        trash = await browser.get("/trash")
        assert f'data-trashed="{one.short_id}"' in trash.text
        assert f'data-trashed="{two.short_id}"' in trash.text
        assert one.short_id not in (await browser.get("/images")).text
        assert (await anonymous.get("/trash")).status_code in (302, 303)

        # Restore: the row goes, the page and the files are back.
        restored = await browser.post(f"/trash/{one.short_id}/restore", headers=htmx)
        assert restored.status_code == 200 and restored.text == ""
        assert (await anonymous.get(f"/i/{one.short_id}")).status_code == 200
        await _all_answer(stack, _urls(ready[0]), 200)

        # Delete now: purged on the node, the row is gone, no file is left anywhere.
        purging = await browser.post(f"/trash/{two.short_id}/purge", headers=htmx)
        assert "data-purging" in purging.text
        for _ in range(240):
            if not await Image.exists(id=two.id):
                break
            await asyncio.sleep(0.25)
        assert not await Image.exists(id=two.id)
        assert _files_of(stack.pool_dir, second["image_uuid"]) == ([], [])
        assert f'data-trashed="{two.short_id}"' not in (await browser.get("/trash")).text
        assert (
            await browser.post(f"/api/v1/images/{second['image_uuid']}/restore")
        ).status_code == 404
        await _all_answer(stack, _urls(ready[1]), 404)


async def test_my_images_deletes_the_ticked_images_and_only_those(stack: Stack):
    app = stack.app
    await app.user("ada-multi")
    eve = await app.user("eve-multi")
    async with app.client() as browser, await app.token_client(eve) as other:
        await app.login(browser, "ada-multi")
        uploads = [await _upload(browser, images.jpeg(), "public") for _ in range(3)]
        theirs, _ = await _upload(other, images.jpeg(), "public")
        rows = [await Image.get(uuid=uuid.UUID(s["image_uuid"])) for s, _ in uploads]
        foreign = await Image.get(uuid=uuid.UUID(theirs["image_uuid"]))

        grid = await browser.get("/images")
        assert all(f'name="image" value="{r.short_id}"' in grid.text for r in rows)
        ticked = [rows[0].short_id, rows[2].short_id, foreign.short_id]
        answer = await browser.post(
            "/images/delete", data={"image": ticked}, headers={"HX-Request": "true"}
        )
        assert answer.headers.get("HX-Redirect") == "/trash", answer.text

        deleted = {r.short_id: (await Image.get(id=r.id)).deleted_at is not None for r in rows}
        assert deleted == {rows[0].short_id: True, rows[1].short_id: False, rows[2].short_id: True}
        # Somebody else's image is not one of theirs to delete.
        assert (await Image.get(id=foreign.id)).deleted_at is None
        after = (await browser.get("/images")).text
        assert rows[1].short_id in after
        assert rows[0].short_id not in after and rows[2].short_id not in after
