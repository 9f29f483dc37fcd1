"""The trash in the app, on SQLite and PostgreSQL: the rows decide, node reports converge.

Nodes are played by the test through the internal API (their real jobs run in
tests/app/test_trash_flow.py): a report that no longer matches the row gets a
job the other way, a purge report deletes the rows, and a restore is refused
once the purge has started.
"""

from __future__ import annotations

import uuid

import pytest

from pixelfox_app.models import Image, ImageVariant
from pixelfox_protocol.internal import PURGED_PATH, TRASH_PATH
from tests.app.conftest import AppServer
from tests.app.test_private_images import _uploaded

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_trash_reports_converge_on_the_row_and_a_purge_report_deletes_the_rows(
    app_on_each_db: AppServer,
):
    app = app_on_each_db
    node = await app.node("s01")
    other = await app.node("s02")
    pool = await app.pool("hot-1", "s01")
    ada = await app.user("ada")
    image = await _uploaded(app, node, ada, private=False)
    image_uuid = str(image.uuid)
    trash_job = app.keys.trash_job("s01", image_uuid, True)
    untrash_job = app.keys.trash_job("s01", image_uuid, False)

    async with await app.token_client(ada) as owner, app.client(headers=node) as s01:
        assert (await owner.delete(f"/api/v1/images/{image_uuid}")).status_code == 204
        assert trash_job in await app.queued_jobs("s01")
        assert (await owner.get(f"/api/v1/image/status/{image_uuid}")).status_code == 404
        row = await Image.get(id=image.id)
        assert row.deleted_at is not None and row.deleted_by == "ada"

        # Restored while the node trashed the files: its report gets a job back.
        assert (await owner.post(f"/api/v1/images/{image_uuid}/restore")).status_code == 200
        late = await s01.post(
            TRASH_PATH.format(image_uuid=image_uuid),
            json={"pool_id": pool.id, "trashed": True, "files": 3},
        )
        assert late.status_code == 200 and late.json()["deleted"] is False
        assert untrash_job in await app.queued_jobs("s01")

        # Another node cannot report on this pool.
        async with app.client(headers=other) as s02:
            foreign = await s02.post(
                TRASH_PATH.format(image_uuid=image_uuid),
                json={"pool_id": pool.id, "trashed": True, "files": 0},
            )
        assert foreign.json()["error"]["code"] == "POOL_NOT_ON_NODE"

        # No purge report for an image that is not being purged.
        purged = PURGED_PATH.format(image_uuid=image_uuid)
        body = {"pool_id": pool.id, "removed": 3, "bytes": 30, "backup_deleted": False}
        early = await s01.post(purged, json=body)
        assert early.status_code == 400 and early.json()["error"]["code"] == "BAD_REQUEST"

        assert (await owner.delete(f"/api/v1/images/{image_uuid}")).status_code == 204
        await Image.filter(id=image.id).update(purging_at=(await Image.get(id=image.id)).deleted_at)
        refused = await owner.post(f"/api/v1/images/{image_uuid}/restore")
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "IMAGE_PURGING"

        done = await s01.post(purged, json=body)
        assert done.status_code == 200 and done.json()["rows_deleted"] is True
        assert not await Image.exists(id=image.id)
        assert await ImageVariant.filter(image_id=image.id).count() == 0
        gone = await owner.delete(f"/api/v1/images/{image_uuid}")
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "NOT_FOUND"
        assert (await owner.post(f"/api/v1/images/{uuid.uuid4()}/restore")).status_code == 404
